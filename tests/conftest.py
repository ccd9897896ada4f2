import os
import sys

# CI machines have 2 cores; keep torch from oversubscribing them when pytest-xdist is not used.
os.environ.setdefault('OMP_NUM_THREADS', '2')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

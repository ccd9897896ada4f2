"""Print the versions of python, torch, mmcv (and whether its ops load), the OpenMMLab packages and the device."""
from mmpoolformer.collect_env import main

if __name__ == '__main__':
    main()

#!/usr/bin/env bash
# Quickstart on CPU: write the demo data if missing, train from scratch, evaluate, draw predictions.
#
#   bash tools/quickstart.sh [retinanet|mask_rcnn|fpn|cls] [--amp] [--cfg-options KEY=VALUE ...]
#   bash tools/quickstart.sh web [tools/web_demo.py options]
#
# The --cfg-options reach both tools/train.py and tools/test.py, so a changed model setting is also tested;
# --amp (bf16 mixed-precision training on a CPU with bf16 instructions) reaches tools/train.py only.
#
# Results go to work_dirs/quickstart_<model>/ (log, checkpoints, test_output.txt, and vis/ with the drawn validation
# images); the last lines say whether the run's metric lies in the range the README promises.
# `web` starts the browser demo (tools/web_demo.py) on the quickstart checkpoints of work_dirs/ (QUICKSTART_WORK_DIRS),
# first running the retinanet quickstart if it holds none.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python
MODEL="${1:-retinanet}"
shift || true
if [ "$MODEL" = web ]; then
  WORK_DIRS="${QUICKSTART_WORK_DIRS:-work_dirs}"
  if ! ls "$WORK_DIRS"/quickstart_*/last_checkpoint >/dev/null 2>&1; then
    echo "no quickstart checkpoint under $WORK_DIRS/ yet: running the retinanet quickstart first"
    QUICKSTART_WORK_DIR="$WORK_DIRS/quickstart_retinanet" bash "$ROOT/tools/quickstart.sh" retinanet
  fi
  exec "$PY" tools/web_demo.py --work-dirs "$WORK_DIRS" "$@"
fi
case "$MODEL" in
  retinanet) CONFIG=configs/quickstart/retinanet_poolformer_s12_demo.py ;;
  mask_rcnn) CONFIG=configs/quickstart/mask_rcnn_poolformer_s12_demo.py ;;
  fpn) CONFIG=configs/quickstart/fpn_poolformer_s12_demo.py ;;
  cls) CONFIG=configs/quickstart/poolformer_s12_cls_demo.py ;;
  *) echo "error: unknown quickstart model '$MODEL'; use retinanet, mask_rcnn, fpn, cls or web" >&2; exit 2 ;;
esac
TRAIN_ONLY=()
BOTH=()
for arg in "$@"; do
  case "$arg" in
    --amp) TRAIN_ONLY+=("$arg") ;;
    *) BOTH+=("$arg") ;;
  esac
done
WORK_DIR="${QUICKSTART_WORK_DIR:-work_dirs/quickstart_$MODEL}"
START=$(date +%s)
"$PY" tools/make_demo_data.py --config "$CONFIG" ${BOTH[@]+"${BOTH[@]}"}
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" ${TRAIN_ONLY[@]+"${TRAIN_ONLY[@]}"} ${BOTH[@]+"${BOTH[@]}"}
CKPT="$WORK_DIR/$(basename "$(cat "$WORK_DIR/last_checkpoint")")"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --show-dir "$WORK_DIR/vis" ${BOTH[@]+"${BOTH[@]}"} \
  | tee "$WORK_DIR/test_output.txt"
echo "quickstart $MODEL finished in $(( $(date +%s) - START )) s; predictions drawn in $WORK_DIR/vis"
# the run's metric against the range the README promises (configs/metafiles/quickstart.yml)
"$PY" -m mmpoolformer_lab.studies.quickstart_range "$CONFIG" "$WORK_DIR/test_output.txt"

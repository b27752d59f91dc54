# Sourced by the integration scripts (". common.sh"): their arguments, the data and vocabulary,
# and the skip rule.
#   binary, work  - the script's two arguments (SWARMFORMER_BINARY WORK_DIR)
#   data, vocab   - $SF_DATA / $SF_VOCAB, else ../shared/data beside the repository
#   require_data PATH... - exits 77 (skipped) unless every PATH exists, then empties $work
binary="$1"
work="$2"
data="${SF_DATA:-$here/../../../shared/data/imdb}"
vocab="${SF_VOCAB:-$here/../../../shared/data/vocab/bert-base-uncased-vocab.txt}"

require_data() {
  for path in "$@"; do
    if [ ! -e "$path" ]; then
      echo "skipped: IMDB data or vocabulary not found ($path)"
      exit 77
    fi
  done
  rm -rf "$work"
  mkdir -p "$work"
}

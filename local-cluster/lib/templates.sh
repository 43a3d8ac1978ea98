# Config files from the templates under config/: @NAME@ placeholders filled in, written only when changed.
# shellcheck shell=bash

# render TEMPLATE NAME...: TEMPLATE (a path under local-cluster/) with each @NAME@ replaced by
# the value of the variable NAME, or NAME=VALUE to give the value itself. One pass from left to
# right: a value is never read for placeholders and nothing is evaluated (a name must be a plain
# upper-case variable, so indirect expansion cannot run a subscript); a placeholder without a
# value stops the script.
render() {
  local template=$1 arg name text out=""
  local -A values=()
  shift
  for arg; do
    name=${arg%%=*}
    [[ $name =~ ^[A-Z][A-Z0-9_]*$ ]] || die "render $template: bad name in '$arg'"
    if [[ $arg == *=* ]]; then values[$name]=${arg#*=}; else values[$name]=${!name}; fi
  done
  # set -e does not reach into $(render ...): a template that cannot be read must not render empty.
  text=$(<"$LOCAL_CLUSTER_DIR/$template") || exit 1
  while [[ $text =~ @([A-Z][A-Z0-9_]*)@ ]]; do
    name=${BASH_REMATCH[1]}
    [[ -v values[$name] ]] || die "render $template: no value for @$name@"
    out+=${text%%"${BASH_REMATCH[0]}"*}${values[$name]}
    text=${text#*"${BASH_REMATCH[0]}"}
  done
  printf '%s\n' "$out$text"
}

# write_if_changed FILE TEMPLATE NAME...: FILE rendered from TEMPLATE, written only when that
# changes it: kube-proxy exits when its config file is touched, and a warm `up` restarts nothing.
write_if_changed() {
  local file=$1 new
  shift
  new=$(render "$@")
  [[ -f $file && $(<"$file") == "$new" ]] || printf '%s\n' "$new" >"$file"
}

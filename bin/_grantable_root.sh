# Sourced by bin/c2c, bin/c2c-mcp and bin/c2c-hook (not run on its own).
#
# c2c_grantable_root: turns $root into the path Deno must be granted.
# Deno checks an open file's permissions at its real path, so a root reached
# through a symlink (the root itself, or a directory above it such as a
# symlinked home) works only when its real path is granted: resolve the
# deepest part that exists. Deno's flags separate paths with commas and
# cannot escape one, so a root whose real path holds a comma cannot be
# granted at all: then $root is emptied and C2C_LAUNCH_ROOT_ERROR says why
# and what to do (the server still starts and answers every tool with it).
c2c_grantable_root() {
  _dir=$root _rest=
  while [ ! -d "$_dir" ]; do
    _rest=/${_dir##*/}$_rest
    _dir=${_dir%/*}
    [ -n "$_dir" ] || { _dir=/; break; }
  done
  _real=$(cd -P "$_dir" 2>/dev/null && pwd -P) || _real=$_dir
  root=${_real%/}$_rest
  case $root in
    *,*)
      C2C_LAUNCH_ROOT_ERROR="the broker root $root has a comma in its path, which Deno's permission flags cannot express; set C2C_MCP_BROKER_ROOT to a directory whose real path has none"
      export C2C_LAUNCH_ROOT_ERROR
      root= ;;
  esac
}

# The compiler and linker launcher of the module's build (CMakeLists.txt): runs the command it is given
# (ccache and the compiler, or the linker) and appends "<start> <end> <output file>" to the file that
# $NESTML_LAB_TIMES names, so that the build can say which translation unit took how long.
start=$(date +%s.%N)
"$@"
status=$?
if [ -n "$NESTML_LAB_TIMES" ]; then
  out=""
  prev=""
  for arg in "$@"; do
    if [ "$prev" = "-o" ]; then out="$arg"; fi
    prev="$arg"
  done
  echo "$start $(date +%s.%N) $out" >> "$NESTML_LAB_TIMES"
fi
exit $status

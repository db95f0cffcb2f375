# Shared settings of the project-local Neo4j server; sourced by build.sh, start.sh and stop.sh.
# Every value can be overridden from the environment.
#   NEO4J_PORT       Bolt port on 127.0.0.1                      (default 7687)
#   NEO4J_DIR        folder holding data, logs, conf and pid     (default <repo>/.neo4j/server)
#   NEO4J_LIB        folder of the server jars built by Maven    (default <repo>/.neo4j/lib)
#   NEO4J_HEAP       JVM heap (-Xms/-Xmx)                         (default 1g)
#   NEO4J_PAGECACHE  page cache size                              (default 512m)
#   NEO4J_START_TIMEOUT  seconds to wait for Bolt                 (default 120)
#   JAVA             java binary (Java 17)                        (default: java on PATH)
KGKIT_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NEO4J_PORT="${NEO4J_PORT:-7687}"
NEO4J_DIR="${NEO4J_DIR:-$KGKIT_REPO/.neo4j/server}"
NEO4J_LIB="${NEO4J_LIB:-$KGKIT_REPO/.neo4j/lib}"
NEO4J_HEAP="${NEO4J_HEAP:-1g}"
NEO4J_PAGECACHE="${NEO4J_PAGECACHE:-512m}"
# Memory one transaction may use (db.memory.transaction.max): a runaway read is stopped with an error
# instead of exhausting the heap; kgkit's write batches need a few MB.
NEO4J_TX_MEMORY="${NEO4J_TX_MEMORY:-512m}"
NEO4J_START_TIMEOUT="${NEO4J_START_TIMEOUT:-120}"
JAVA="${JAVA:-java}"
NEO4J_PID_FILE="$NEO4J_DIR/run/neo4j.pid"
NEO4J_LOG="$NEO4J_DIR/logs/console.log"

proc_alive() {  # true while process $1 exists and is not a zombie
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$state" ] && [ "$state" != "Z" ] && [ "$state" != "X" ]
}

neo4j_pid() {  # prints the pid of our running server, or nothing (a killed, unreaped zombie counts as gone)
  local pid
  [ -f "$NEO4J_PID_FILE" ] || return 1
  pid="$(cat "$NEO4J_PID_FILE" 2>/dev/null)"
  [ -n "$pid" ] && proc_alive "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q CommunityEntryPoint || return 1
  echo "$pid"
}

bolt_open() {  # true when something accepts TCP connections on the Bolt port
  (exec 3<>"/dev/tcp/127.0.0.1/$NEO4J_PORT") 2>/dev/null
}

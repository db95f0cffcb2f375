#!/usr/bin/env bash
# Build (download) the Neo4j 5.26 Community server jars into .neo4j/lib with Maven.
# Works from an empty ~/.m2; needs Java 17, Maven 3.8+ and access to Maven Central.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [ -f "$NEO4J_LIB/.complete" ] && [ "${1:-}" != "--force" ]; then
  exit 0
fi
command -v mvn >/dev/null || { echo "neo4j build: Maven (mvn) is not installed; install maven 3.8+" >&2; exit 1; }
command -v "$JAVA" >/dev/null || { echo "neo4j build: java not found; install OpenJDK 17" >&2; exit 1; }
rm -rf "$NEO4J_LIB"
mkdir -p "$NEO4J_LIB"
echo "neo4j build: fetching Neo4j server jars into $NEO4J_LIB ..." >&2
start=$(date +%s)
mvn -B -q -f "$KGKIT_REPO/scripts/neo4j/pom.xml" dependency:copy-dependencies -Dneo4j.lib.dir="$NEO4J_LIB"
touch "$NEO4J_LIB/.complete"
echo "neo4j build: done in $(( $(date +%s) - start ))s ($(ls "$NEO4J_LIB" | wc -l) jars)" >&2

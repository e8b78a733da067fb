#!/bin/sh
# kafka-run-class.sh CLASS [ARGS]: runs a Kafka class on the broker's class path (small heap).
exec java ${KAFKA_HEAP_OPTS_TOOLS:--Xmx256m -XX:TieredStopAtLevel=1} \
  -Dlogback.configurationFile=/opt/kafka/config/logback-tools.xml -cp "/opt/kafka/libs/*" "$@"

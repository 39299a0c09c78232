#ifndef CASEHUB_CRDKAFKA_SHIM_H
#define CASEHUB_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
/* The in-process mock cluster (librdkafka >= 1.7), for the Kafka module's
   tests (RDKafkaMockCluster). It must come after rdkafka.h. */
#include <librdkafka/rdkafka_mock.h>
#endif

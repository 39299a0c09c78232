#ifndef CASEHUB_CRDKAFKA_SHIM_H
#define CASEHUB_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif

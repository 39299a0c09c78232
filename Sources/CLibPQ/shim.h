#ifndef CASEHUB_CLIBPQ_SHIM_H
#define CASEHUB_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif

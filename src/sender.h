/*
 * sender.h - the sender worker: a generated stream to Kafka at a pace
 */
#ifndef IPFLOW_SENDER_H
#define IPFLOW_SENDER_H

#include "postgres.h"

/* Batches of at most this many events are delivered, then committed. */
#define SENDER_BATCH_MAX 50000

#define SENDER_DEFAULT_SECONDS_PER_HOUR 20.0
#define SENDER_MAX_EVENTS_PER_SECOND 1000000.0
#define SENDER_MAX_SECONDS_PER_HOUR 86400.0

extern PGDLLEXPORT void IpflowSenderMain(Datum arg);

#endif

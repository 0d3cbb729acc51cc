/*
 * ingest_ips.h - folding a batch's new events into ipflow.ips
 */
#ifndef IPFLOW_INGEST_IPS_H
#define IPFLOW_INGEST_IPS_H

#include "datatype/timestamp.h"

#include "event.h"

#include "anomaly.h"

/* An anomaly the streaming detector found: its row, and its message. */
typedef struct IngestAlert
{
	Datum		ip;				/* inet */
	int			feature;		/* -1: a replayed alert, not stored again */
	TimestampTz ts;
	double		value;
	AnomalyResult result;
	char	   *key;			/* the IP as text: the message key */
	char	   *json;			/* the message, and the NOTIFY payload */
	int			partition;		/* explicit partition, or -1 */
} IngestAlert;

/*
 * The aggregate message of each IP of a batch, to publish, and the alerts
 * of the batch's committed transactions.
 */
typedef struct IngestAggregates
{
	MemoryContext context;		/* where the messages are allocated */
	int			count;
	char	  **keys;			/* the IP as text: the message key */
	char	  **json;
	int		   *partitions;		/* explicit partition, or -1 */
	int			nalerts;
	int			alerts_capacity;
	IngestAlert *alerts;
} IngestAggregates;

extern void IngestFoldIps(const Event *events, const int *which, int n,
						  const Datum *batch_ips, int nips, IngestAggregates *out,
						  IngestAggregates *alerts);
extern void IngestIpsForgetPlans(void);

#endif

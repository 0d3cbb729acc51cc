/*
 * ingest_ips.h - folding a batch's new events into ipflow.ips
 */
#ifndef IPFLOW_INGEST_IPS_H
#define IPFLOW_INGEST_IPS_H

#include "event.h"

/* The aggregate message of each IP of a batch, to publish. */
typedef struct IngestAggregates
{
	MemoryContext context;		/* where the messages are allocated */
	int			count;
	char	  **keys;			/* the IP as text: the message key */
	char	  **json;
	int		   *partitions;		/* explicit partition, or -1 */
} IngestAggregates;

extern void IngestFoldIps(const Event *events, const int *which, int n,
						  const Datum *batch_ips, int nips, IngestAggregates *out);
extern void IngestIpsForgetPlans(void);

#endif

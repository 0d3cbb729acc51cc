/*
 * broker.h - the embedded Kafka-protocol broker (librdkafka's mock cluster)
 */
#ifndef IPFLOW_BROKER_H
#define IPFLOW_BROKER_H

#define IPFLOW_EMBEDDED_BROKERS 1

extern void BrokerStart(void);
extern void BrokerStop(void);
extern bool BrokerRunning(void);
extern void BrokerServeTopicRequests(void);
extern void BrokerRequestTopics(void);

#endif

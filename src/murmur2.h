/*
 * murmur2.h - Kafka's default partitioner hash, in plain C
 */
#ifndef IPFLOW_MURMUR2_H
#define IPFLOW_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

extern uint32_t Murmur2Hash(const void *key, size_t len);
extern int32_t Murmur2Partition(const void *key, size_t len, int32_t num_partitions);

#endif

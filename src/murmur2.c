/*
 * murmur2.c - Kafka's default partitioner hash, in plain C
 *
 * Kafka's Java client (Utils.murmur2) and librdkafka's murmur2 partitioners
 * hash the message key with MurmurHash2 (seed 0x9747b28c) and take
 * (hash & 0x7fffffff) % partitions.  ipflow computes the same value so any
 * producer that keys messages by source IP agrees with ipflow.partition_for.
 */
#include "murmur2.h"

#define MURMUR2_SEED 0x9747b28cU
#define MURMUR2_M 0x5bd1e995U
#define MURMUR2_R 24

/* MurmurHash2 exactly as Kafka defines it (little-endian 4-byte blocks). */
uint32_t
Murmur2Hash(const void *key, size_t len)
{
	const unsigned char *data = key;
	uint32_t	h = MURMUR2_SEED ^ (uint32_t) len;
	size_t		i;

	for (i = 0; i + 4 <= len; i += 4)
	{
		uint32_t	k = (uint32_t) data[i] |
			((uint32_t) data[i + 1] << 8) |
			((uint32_t) data[i + 2] << 16) |
			((uint32_t) data[i + 3] << 24);

		k *= MURMUR2_M;
		k ^= k >> MURMUR2_R;
		k *= MURMUR2_M;
		h *= MURMUR2_M;
		h ^= k;
	}

	switch (len & 3)
	{
		case 3:
			h ^= (uint32_t) data[i + 2] << 16;
			/* fall through */
		case 2:
			h ^= (uint32_t) data[i + 1] << 8;
			/* fall through */
		case 1:
			h ^= (uint32_t) data[i];
			h *= MURMUR2_M;
	}

	h ^= h >> 13;
	h *= MURMUR2_M;
	h ^= h >> 15;
	return h;
}

/* The partition Kafka's default partitioner picks for a non-empty key. */
int32_t
Murmur2Partition(const void *key, size_t len, int32_t num_partitions)
{
	if (num_partitions <= 0)
		return -1;
	return (int32_t) ((Murmur2Hash(key, len) & 0x7fffffffU) % (uint32_t) num_partitions);
}

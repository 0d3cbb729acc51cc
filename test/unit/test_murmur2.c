/* Unit tests of murmur2.c against the vectors of Kafka's own test suite. */
#include "murmur2.h"
#include "tap.h"

static int32_t
java_int(uint32_t h)
{
	return (int32_t) h;
}

int
main(void)
{
	/* Kafka's UtilsTest.testMurmur2: key -> Utils.murmur2(key) as a Java int */
	static const struct
	{
		const char *key;
		int32_t		hash;
	}			vectors[] = {
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	};
	size_t		i;
	int			counts[7] = {0};
	char		key[32];

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		is_int(java_int(Murmur2Hash(vectors[i].key, strlen(vectors[i].key))), vectors[i].hash,
			   "murmur2(\"%s\") matches Kafka", vectors[i].key);

	/* partition = toPositive(hash) % n, so never negative, always < n */
	is_int(Murmur2Partition("foobar", 6, 1), 0, "one partition: always 0");
	is_int(Murmur2Partition("foobar", 6, 0), -1, "zero partitions: -1");
	is_int(Murmur2Partition("foobar", 6, 3), ((uint32_t) -790332482 & 0x7fffffffU) % 3,
		   "partition of a negative hash masks the sign bit");

	for (i = 0; i < 7000; i++)
	{
		int			p;

		snprintf(key, sizeof(key), "10.0.%zu.%zu", i / 256, i % 256);
		p = Murmur2Partition(key, strlen(key), 7);
		if (p >= 0 && p < 7)
			counts[p]++;
	}
	for (i = 0; i < 7; i++)
		ok(counts[i] > 800 && counts[i] < 1200,
		   "partition %zu of 7 gets a fair share of 7000 keys (%d)", i, counts[i]);
	return tap_done();
}

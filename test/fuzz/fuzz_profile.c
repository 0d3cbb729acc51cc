/*
 * fuzz_profile.c - libFuzzer target for ProfileFromJson and the generator
 *
 * Profiles are stored in a table and may be edited by hand, so any text must
 * come back accepted or refused with a message, without a crash, leak or
 * undefined behaviour.  An accepted profile must write itself back to the
 * same document, and a day of traffic generated from it must keep its
 * relations and parse as events, or the target aborts.
 */
#include "postgres_fe.h"

#include <stdlib.h>

#include "event.h"
#include "generator.h"
#include "profile.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the message is a terminated string, empty exactly when accepted. */
static void
CheckError(const char *error, bool accepted)
{
	const char *end = memchr(error, '\0', PROFILE_ERROR_MAX);

	if (end == NULL || accepted != (end == error))
		abort();
}

/* Aborts when a profile does not round-trip or generates a bad row. */
static void
CheckProfile(const Profile *p)
{
	char		error[PROFILE_ERROR_MAX] = "";
	char		json[GENERATOR_JSON_MAX];
	char	   *doc = ProfileToJson(p);
	Profile    *back = doc ? ProfileFromJson(doc, strlen(doc), error) : NULL;
	char	   *again = back ? ProfileToJson(back) : NULL;
	const Profile *profiles[1] = {p};
	GeneratorOptions options;
	GeneratorItem item;
	Generator  *gen;

	if (again == NULL || strcmp(doc, again) != 0 || memcmp(p, back, sizeof(Profile)) != 0)
		abort();
	free(doc);
	free(again);
	ProfileFree(back);

	GeneratorOptionsInit(&options);
	options.anomaly_rate = 0.2;
	gen = GeneratorInit(profiles, 1, 2, INT64CONST(1641168000000000), 24, 1, &options, error);
	if (gen == NULL)
		abort();
	while (GeneratorNext(gen, &item))
	{
		Event		ev;
		size_t		len;

		if (!item.has_event)
			continue;
		if (!ProfileRowConsistent(p, item.features, error))
			abort();
		len = GeneratorFormatJson(&item, json);
		if (!EventParse(json, len, GENERATOR_JSON_MAX, &ev, NULL) ||
			memcmp(ev.features, item.features, sizeof(ev.features)) != 0)
			abort();
	}
	GeneratorFree(gen);
}

/* One input: read it as a profile and check whatever comes back. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		error[PROFILE_ERROR_MAX];
	Profile    *p;

	memset(error, 0x55, sizeof(error));
	p = ProfileFromJson((const char *) data, size, error);
	CheckError(error, p != NULL);
	if (p)
		CheckProfile(p);
	ProfileFree(p);
	return 0;
}

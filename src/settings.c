/*
 * settings.c - syntax of ipflow's connection settings, in plain C
 *
 * GUC check hooks and the config importer call these, so a bad value is
 * refused when it is set, with the reason, instead of failing later inside
 * a background worker.
 */
#include "settings.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Kafka accepts [a-zA-Z0-9._-]{1,249}, except "." and "..". */
bool
KafkaTopicNameValid(const char *name, const char **why)
{
	size_t		len = strlen(name);
	size_t		i;

	if (len == 0)
	{
		*why = "a topic name must not be empty";
		return false;
	}
	if (len > KAFKA_TOPIC_NAME_MAX)
	{
		*why = "a topic name must be at most 249 characters long";
		return false;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
	{
		*why = "\".\" and \"..\" are not valid topic names";
		return false;
	}
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (!(isascii(c) && (isalnum(c) || c == '.' || c == '_' || c == '-')))
		{
			*why = "a topic name may contain only ASCII letters, digits, '.', '_' and '-'";
			return false;
		}
	}
	return true;
}

/* A consumer group id: any non-empty printable text without spaces. */
bool
KafkaGroupIdValid(const char *group, const char **why)
{
	const unsigned char *p;

	if (group[0] == '\0')
	{
		*why = "the consumer group must not be empty";
		return false;
	}
	if (strlen(group) > 255)
	{
		*why = "the consumer group must be at most 255 characters long";
		return false;
	}
	for (p = (const unsigned char *) group; *p; p++)
	{
		if (*p <= ' ' || *p == 0x7f)
		{
			*why = "the consumer group must not contain spaces or control characters";
			return false;
		}
	}
	return true;
}

/* Parses a decimal port number in [1, 65535] from [s, end). */
static bool
PortParse(const char *s, const char *end, int *port)
{
	int			value = 0;

	if (s == end || end - s > 5)
		return false;
	for (; s < end; s++)
	{
		if (!isdigit((unsigned char) *s))
			return false;
		value = value * 10 + (*s - '0');
	}
	if (value < 1 || value > 65535)
		return false;
	*port = value;
	return true;
}

/* One "host:port" or "[v6]:port" entry of a bootstrap list. */
static bool
BrokerValid(const char *s, const char *end)
{
	const char *colon;
	int			port;

	if (s < end && *s == '[')
	{
		const char *close = memchr(s, ']', end - s);

		if (close == NULL || close == s + 1 || close + 1 >= end || close[1] != ':')
			return false;
		colon = close + 1;
	}
	else
	{
		const char *p;

		colon = NULL;
		for (p = s; p < end; p++)
			if (*p == ':')
				colon = p;
		if (colon == NULL || colon == s)
			return false;
		for (p = s; p < colon; p++)
			if (!(isalnum((unsigned char) *p) || *p == '.' || *p == '-' || *p == '_'))
				return false;
	}
	return PortParse(colon + 1, end, &port);
}

/* "embedded", or a comma-separated list of host:port bootstrap servers. */
bool
KafkaBrokerListValid(const char *brokers, const char **why)
{
	const char *s = brokers;

	if (strcmp(brokers, "embedded") == 0)
		return true;
	if (brokers[0] == '\0')
	{
		*why = "set it to \"embedded\" or to a list of host:port bootstrap servers";
		return false;
	}
	for (;;)
	{
		const char *end = strchr(s, ',');
		const char *stop = end ? end : s + strlen(s);

		while (s < stop && *s == ' ')
			s++;
		while (stop > s && stop[-1] == ' ')
			stop--;
		if (!BrokerValid(s, stop))
		{
			*why = "each bootstrap server must be host:port (or [ipv6]:port), separated by commas";
			return false;
		}
		if (end == NULL)
			return true;
		s = end + 1;
	}
}

/* A database number in [0, 65535]: the whole of s. */
static bool
DbNumberParse(const char *s, int *db, const char **why)
{
	char	   *end;
	long		value;

	if (!isdigit((unsigned char) *s))
	{
		*why = "the database number must be an integer from 0 to 65535";
		return false;
	}
	value = strtol(s, &end, 10);
	if (*end != '\0' || value > 65535)
	{
		*why = "the database number must be an integer from 0 to 65535";
		return false;
	}
	*db = (int) value;
	return true;
}

/*
 * redis://host[:port][/db] or unix:///path/to/socket[?db=N].  Passwords are
 * refused here: they belong in ipflow.redis_password, which only superusers
 * can read, while the URL is visible to everybody.
 */
bool
RedisUrlParse(const char *url, RedisUrl *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	out->port = 6379;

	if (strncmp(url, "unix://", 7) == 0)
	{
		const char *path = url + 7;
		const char *query = strchr(path, '?');
		size_t		len = query ? (size_t) (query - path) : strlen(path);

		out->is_unix = true;
		if (len == 0 || path[0] != '/' || len >= REDIS_PATH_MAX)
		{
			*why = "a unix socket URL needs an absolute path: unix:///path/to/redis.sock";
			return false;
		}
		memcpy(out->path, path, len);
		if (query)
		{
			if (strncmp(query, "?db=", 4) != 0)
			{
				*why = "the only option of a unix socket URL is ?db=N";
				return false;
			}
			return DbNumberParse(query + 4, &out->db, why);
		}
		return true;
	}
	if (strncmp(url, "redis://", 8) == 0)
	{
		const char *host = url + 8;
		const char *slash = strchr(host, '/');
		const char *hostend = slash ? slash : host + strlen(host);
		const char *colon = NULL;
		const char *p;
		size_t		hostlen;

		if (memchr(host, '@', hostend - host) != NULL)
		{
			*why = "credentials are not allowed in the URL; set ipflow.redis_password instead";
			return false;
		}
		if (host < hostend && *host == '[')
		{
			const char *close = memchr(host, ']', hostend - host);

			if (close == NULL)
			{
				*why = "an IPv6 host must be written in brackets: redis://[::1]:6379";
				return false;
			}
			if (close + 1 < hostend)
			{
				if (close[1] != ':')
				{
					*why = "expected :port after the bracketed IPv6 host";
					return false;
				}
				colon = close + 1;
			}
			host++;
			hostlen = close - host;
		}
		else
		{
			colon = memchr(host, ':', hostend - host);
			hostlen = (colon ? colon : hostend) - host;
			for (p = host; p < host + hostlen; p++)
				if (!(isalnum((unsigned char) *p) || *p == '.' || *p == '-' || *p == '_'))
				{
					*why = "the host may contain only letters, digits, '.', '-' and '_'";
					return false;
				}
		}
		if (hostlen == 0 || hostlen >= REDIS_HOST_MAX)
		{
			*why = "the URL needs a host: redis://host[:port][/db]";
			return false;
		}
		memcpy(out->host, host, hostlen);
		if (colon && !PortParse(colon + 1, hostend, &out->port))
		{
			*why = "the port must be an integer from 1 to 65535";
			return false;
		}
		if (slash && slash[1] != '\0')
		{
			if (!isdigit((unsigned char) slash[1]))
			{
				*why = "the path of the URL must be a database number: redis://host:port/0";
				return false;
			}
			return DbNumberParse(slash + 1, &out->db, why);
		}
		return true;
	}
	*why = "the URL must start with redis:// or unix://";
	return false;
}

/*
 * text_buf.c - a growable text buffer for the pure-C cores' writers
 */
#include "postgres_fe.h"

#include <stdarg.h>
#include <stdlib.h>

#include "text_buf.h"

#define TEXT_BUF_FIRST_CAP 4096

/* Appends n bytes, growing the buffer; a failed allocation sticks. */
void
TextBufAppend(TextBuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : TEXT_BUF_FIRST_CAP;
		char	   *data;

		while (b->len + n + 1 > cap)
			cap *= 2;
		data = realloc(b->data, cap);
		if (data == NULL)
		{
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
TextBufPuts(TextBuf *b, const char *s)
{
	TextBufAppend(b, s, strlen(s));
}

void
TextBufPrintf(TextBuf *b, const char *fmt,...)
{
	char		small[512];
	char	   *big;
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(small, sizeof(small), fmt, args);
	va_end(args);
	if (n < 0)
	{
		b->failed = true;
		return;
	}
	if ((size_t) n < sizeof(small))
	{
		TextBufAppend(b, small, n);
		return;
	}
	big = malloc((size_t) n + 1);
	if (big == NULL)
	{
		b->failed = true;
		return;
	}
	va_start(args, fmt);
	vsnprintf(big, (size_t) n + 1, fmt, args);
	va_end(args);
	TextBufAppend(b, big, n);
	free(big);
}

void
TextBufJsonString(TextBuf *b, const char *s)
{
	TextBufAppend(b, "\"", 1);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
		{
			char		esc[2] = {'\\', (char) c};

			TextBufAppend(b, esc, 2);
		}
		else if (c < 0x20)
		{
			char		esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", c);
			TextBufAppend(b, esc, 6);
		}
		else
			TextBufAppend(b, s, 1);
	}
	TextBufAppend(b, "\"", 1);
}

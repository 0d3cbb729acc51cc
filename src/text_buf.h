/*
 * text_buf.h - a growable text buffer for the pure-C cores' writers
 *
 * JSON models and profiles, SVG charts: each writer appends to a TextBuf
 * without checking every call; a failed allocation sticks in `failed`,
 * which the writer checks once at the end.  `data` is malloc'd (NUL-
 * terminated once anything was appended); the caller frees it.
 */
#ifndef IPFLOW_TEXT_BUF_H
#define IPFLOW_TEXT_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct TextBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} TextBuf;

extern void TextBufAppend(TextBuf *b, const char *s, size_t n);
extern void TextBufPuts(TextBuf *b, const char *s);
extern void TextBufPrintf(TextBuf *b, const char *fmt,...) pg_attribute_printf(2, 3);

/* A JSON string literal: quotes, backslashes and control characters escaped. */
extern void TextBufJsonString(TextBuf *b, const char *s);

#endif

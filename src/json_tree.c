/*
 * json_tree.c - small JSON documents as trees, parsed by Postgres' own parser
 *
 * Configuration documents are validated member by member with messages that
 * name the offending key, which is easiest on a tree.  The lexing and
 * grammar are Postgres' (common/jsonapi), used through its frontend API so
 * this file is unit-tested and fuzzed without a server; inside the server the
 * same calls resolve to the backend's parser and allocator.
 */
#include "postgres_fe.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "compat.h"
#include "json_tree.h"

typedef struct TreeBuilder
{
	JsonNode   *root;
	JsonNode   *stack[JSON_TREE_MAX_DEPTH + 1];
	int			depth;
	char	   *pending_key;	/* member name awaiting its value */
} TreeBuilder;

/* Deepest bracket nesting outside strings; counted before parsing. */
int
JsonNestingDepth(const char *json, size_t len)
{
	int			depth = 0;
	int			max = 0;
	bool		in_string = false;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		c = json[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
		{
			if (++depth > max)
				max = depth;
		}
		else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return max;
}

static JsonNode *
NodeNew(JsonNodeKind kind)
{
	JsonNode   *node = palloc0(sizeof(JsonNode));

	node->kind = kind;
	return node;
}

/* Attaches a finished value to the open container, or makes it the root. */
static void
TreeAttach(TreeBuilder *b, JsonNode *node)
{
	JsonNode   *parent;

	if (b->depth == 0)
	{
		b->root = node;
		return;
	}
	parent = b->stack[b->depth - 1];
	if (parent->count == parent->capacity)
	{
		parent->capacity = parent->capacity ? parent->capacity * 2 : 4;
		if (parent->items)
		{
			parent->items = repalloc(parent->items, parent->capacity * sizeof(JsonNode *));
			if (parent->kind == JSON_NODE_OBJECT)
				parent->keys = repalloc(parent->keys, parent->capacity * sizeof(char *));
		}
		else
		{
			parent->items = palloc(parent->capacity * sizeof(JsonNode *));
			if (parent->kind == JSON_NODE_OBJECT)
				parent->keys = palloc(parent->capacity * sizeof(char *));
		}
	}
	if (parent->kind == JSON_NODE_OBJECT)
	{
		parent->keys[parent->count] = b->pending_key;
		b->pending_key = NULL;
	}
	parent->items[parent->count++] = node;
}

static void
TreeOpen(TreeBuilder *b, JsonNodeKind kind)
{
	JsonNode   *node = NodeNew(kind);

	TreeAttach(b, node);
	b->stack[b->depth++] = node;
}

static JSON_ACTION_RESULT
TreeObjectStart(void *state)
{
	TreeOpen(state, JSON_NODE_OBJECT);
	JSON_ACTION_DONE;
}

static JSON_ACTION_RESULT
TreeArrayStart(void *state)
{
	TreeOpen(state, JSON_NODE_ARRAY);
	JSON_ACTION_DONE;
}

static JSON_ACTION_RESULT
TreeClose(void *state)
{
	((TreeBuilder *) state)->depth--;
	JSON_ACTION_DONE;
}

static JSON_ACTION_RESULT
TreeFieldStart(void *state, char *fname, bool isnull)
{
	TreeBuilder *b = state;

	(void) isnull;
	b->pending_key = fname;
	JSON_ACTION_DONE;
}

static JSON_ACTION_RESULT
TreeScalar(void *state, char *token, JsonTokenType tokentype)
{
	JsonNodeKind kind;
	JsonNode   *node;

	switch (tokentype)
	{
		case JSON_TOKEN_STRING:
			kind = JSON_NODE_STRING;
			break;
		case JSON_TOKEN_NUMBER:
			kind = JSON_NODE_NUMBER;
			break;
		case JSON_TOKEN_TRUE:
			kind = JSON_NODE_TRUE;
			break;
		case JSON_TOKEN_FALSE:
			kind = JSON_NODE_FALSE;
			break;
		default:
			kind = JSON_NODE_NULL;
			break;
	}
	node = NodeNew(kind);
	node->text = token;
	TreeAttach(state, node);
	JSON_ACTION_DONE;
}

/*
 * Why the parser stopped, in words (error is a JsonParseErrorType).
 * json_errdetail is backend-only in Postgres 15, so the frontend build cannot
 * use it; other cores that call pg_parse_json report through this too.
 */
const char *
JsonParseErrorText(int error)
{
	switch ((JsonParseErrorType) error)
	{
		case JSON_SUCCESS:
			return "no error";
		case JSON_ESCAPING_INVALID:
			return "invalid escape sequence";
		case JSON_ESCAPING_REQUIRED:
			return "control character in a string must be escaped";
		case JSON_EXPECTED_ARRAY_FIRST:
			return "expected an array element or \"]\"";
		case JSON_EXPECTED_ARRAY_NEXT:
			return "expected \",\" or \"]\"";
		case JSON_EXPECTED_COLON:
			return "expected \":\"";
		case JSON_EXPECTED_END:
			return "expected end of input";
		case JSON_EXPECTED_JSON:
			return "expected a JSON value";
		case JSON_EXPECTED_MORE:
			return "the input ends unexpectedly";
		case JSON_EXPECTED_OBJECT_FIRST:
			return "expected a string or \"}\"";
		case JSON_EXPECTED_OBJECT_NEXT:
			return "expected \",\" or \"}\"";
		case JSON_EXPECTED_STRING:
			return "expected a string";
		case JSON_INVALID_TOKEN:
			return "invalid token";
		case JSON_UNICODE_CODE_POINT_ZERO:
			return "\\u0000 is not allowed";
		case JSON_UNICODE_ESCAPE_FORMAT:
			return "\\u must be followed by four hexadecimal digits";
		case JSON_UNICODE_HIGH_ESCAPE:
			return "unicode escape values above 007F need UTF-8";
		case JSON_UNICODE_HIGH_SURROGATE:
			return "a unicode high surrogate must not follow a high surrogate";
		case JSON_UNICODE_LOW_SURROGATE:
			return "a unicode low surrogate must follow a high surrogate";
#if PG_VERSION_NUM >= 160000
		case JSON_UNICODE_UNTRANSLATABLE:
			return "a unicode escape has no equivalent in the encoding";
		case JSON_SEM_ACTION_FAILED:
			return "a semantic action failed";
#endif
#if PG_VERSION_NUM >= 170000
		case JSON_INCOMPLETE:
			return "the input ends unexpectedly";
		case JSON_INVALID_LEXER_TYPE:
			return "the lexer does not fit this parse";
		case JSON_NESTING_TOO_DEEP:
			return "the document nests too deeply";
#endif
	}
	return "unknown error";
}

/*
 * Parses a whole document.  Returns NULL and sets *error (allocated) when it
 * is not valid JSON or nests deeper than JSON_TREE_MAX_DEPTH.
 */
JsonNode *
JsonTreeParse(const char *json, size_t len, char **error)
{
	TreeBuilder b;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;

	*error = NULL;
	if (len > (size_t) 0x3fffffff)
	{
		*error = pstrdup("the document is larger than 1 GB");
		return NULL;
	}
	if (JsonNestingDepth(json, len) > JSON_TREE_MAX_DEPTH)
	{
		*error = psprintf("the document nests deeper than %d levels", JSON_TREE_MAX_DEPTH);
		return NULL;
	}

	/*
	 * Syntax first, with no semantic actions: Postgres 15's parser copies a
	 * scalar or member name before it reads the token that follows, and
	 * leaks the copy when that token is a syntax error, so the building
	 * pass below runs only on valid documents.
	 */
	lex = JsonLexNew(json, len);
	rc = pg_parse_json(lex, &nullSemAction);
	if (rc != JSON_SUCCESS)
	{
		*error = psprintf("%s at byte %d", JsonParseErrorText(rc),
						  (int) (lex->token_start ? lex->token_start - lex->input : 0));
		JsonLexFree(lex);
		return NULL;
	}
	JsonLexFree(lex);

	memset(&b, 0, sizeof(b));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &b;
	sem.object_start = TreeObjectStart;
	sem.object_end = TreeClose;
	sem.array_start = TreeArrayStart;
	sem.array_end = TreeClose;
	sem.object_field_start = TreeFieldStart;
	sem.scalar = TreeScalar;

	lex = JsonLexNew(json, len);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
	{
		*error = psprintf("%s at byte %d", JsonParseErrorText(rc),
						  (int) (lex->token_start ? lex->token_start - lex->input : 0));
		if (b.pending_key)
			pfree(b.pending_key);
		JsonTreeFree(b.root);
		b.root = NULL;
	}
	JsonLexFree(lex);
	return b.root;
}

/* The value of an object's member, or NULL; the last one wins on repeats. */
const JsonNode *
JsonTreeMember(const JsonNode *object, const char *key)
{
	int			i;

	if (object == NULL || object->kind != JSON_NODE_OBJECT)
		return NULL;
	for (i = object->count - 1; i >= 0; i--)
		if (strcmp(object->keys[i], key) == 0)
			return object->items[i];
	return NULL;
}

/* The JSON type name of a node, for error messages. */
const char *
JsonNodeKindName(JsonNodeKind kind)
{
	switch (kind)
	{
		case JSON_NODE_NULL:
			return "null";
		case JSON_NODE_TRUE:
		case JSON_NODE_FALSE:
			return "a boolean";
		case JSON_NODE_NUMBER:
			return "a number";
		case JSON_NODE_STRING:
			return "a string";
		case JSON_NODE_ARRAY:
			return "an array";
		case JSON_NODE_OBJECT:
			return "an object";
	}
	return "unknown";
}

void
JsonTreeFree(JsonNode *node)
{
	int			i;

	if (node == NULL)
		return;
	for (i = 0; i < node->count; i++)
	{
		if (node->keys)
			pfree(node->keys[i]);
		JsonTreeFree(node->items[i]);
	}
	if (node->keys)
		pfree(node->keys);
	if (node->items)
		pfree(node->items);
	if (node->text)
		pfree(node->text);
	pfree(node);
}

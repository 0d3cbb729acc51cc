/*
 * json_tree.h - small JSON documents as trees, parsed by Postgres' own parser
 */
#ifndef IPFLOW_JSON_TREE_H
#define IPFLOW_JSON_TREE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum JsonNodeKind
{
	JSON_NODE_NULL,
	JSON_NODE_TRUE,
	JSON_NODE_FALSE,
	JSON_NODE_NUMBER,
	JSON_NODE_STRING,
	JSON_NODE_ARRAY,
	JSON_NODE_OBJECT
} JsonNodeKind;

typedef struct JsonNode
{
	JsonNodeKind kind;
	char	   *text;			/* scalars: the token, strings unescaped */
	int			count;			/* arrays and objects: number of members */
	int			capacity;
	char	  **keys;			/* objects: member names, in input order */
	struct JsonNode **items;	/* arrays and objects: member values */
} JsonNode;

/* Deeper documents are refused before parsing: the parser recurses. */
#define JSON_TREE_MAX_DEPTH 64

extern int	JsonNestingDepth(const char *json, size_t len);
extern JsonNode *JsonTreeParse(const char *json, size_t len, char **error);
extern const JsonNode *JsonTreeMember(const JsonNode *object, const char *key);
extern const char *JsonNodeKindName(JsonNodeKind kind);
extern const char *JsonParseErrorText(int error);
extern void JsonTreeFree(JsonNode *node);

#endif

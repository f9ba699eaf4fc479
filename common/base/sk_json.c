/* sk_json: shared JSON helpers (sk_json.h). */
#include "sk_json.h"

#include <stdlib.h>

#include "sk_util.h"

json_t *
sk_json_str(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j != NULL)
		return j;
	copy = sk_strdup(s);
	if (copy == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* sk_view_plan: a plan file as `skein plan build --json` and `skein plan
 * verify --json` print it (sk_view.h; the schema is docs/formats.md's
 * "A plan file as JSON"). */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sk_json.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_view.h"
#include "sk_view_record.h"

json_t *
sk_view_plan_file_json(const sk_plan *plan, const char *path, const char *signer_key_id)
{
	json_t *o = json_object(), *regions = json_array(),
	       *phases = json_array(), *steps = json_array();
	char created[40], expires[40], hex[2 * SK_CHECKSUM_LEN + 1];
	size_t i;
	int bad = 0;

	if (o == NULL || regions == NULL || phases == NULL || steps == NULL) {
		json_decref(o);
		json_decref(regions);
		json_decref(phases);
		json_decref(steps);
		return NULL;
	}
	sk_rec_fmt_iso(plan->created_unix * 1000, created, sizeof(created));
	sk_rec_fmt_iso(plan->expires_unix * 1000, expires, sizeof(expires));
	for (i = 0; i < plan->nregions; i++)
		bad |= json_array_append_new(regions, sk_json_str(plan->regions[i]));
	for (i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];
		json_t *p = json_object(), *pr = json_array();
		size_t j;

		if (p == NULL || pr == NULL) {
			json_decref(p);
			json_decref(pr);
			bad = 1;
			break;
		}
		for (j = 0; j < ph->nregions; j++)
			bad |= json_array_append_new(pr, sk_json_str(ph->regions[j]));
		bad |= json_object_set_new(p, "name", sk_json_str(ph->name));
		bad |= json_object_set_new(p, "regions", pr);
		bad |= json_array_append_new(phases, p);
	}
	for (i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		json_t *st = json_object();

		if (st == NULL) {
			bad = 1;
			break;
		}
		sk_hex(s->checksum, SK_CHECKSUM_LEN, hex);
		bad |= json_object_set_new(st, "id", sk_json_str(s->id));
		bad |= json_object_set_new(
		    st, "kind", sk_json_str(sk_step_kind_name(s->kind)));
		bad |= json_object_set_new(st, "checksum", sk_json_str(hex));
		bad |= json_object_set_new(
		    st, "revert", json_boolean(s->revert != NULL));
		bad |= json_array_append_new(steps, st);
	}
	bad |= json_object_set_new(o, "path", sk_json_str(path));
	bad |= json_object_set_new(o, "plan_id", sk_json_str(plan->id));
	bad |= json_object_set_new(o, "name", sk_json_str(plan->name));
	bad |= json_object_set_new(o, "created", sk_json_str(created));
	bad |= json_object_set_new(o, "expires", sk_json_str(expires));
	bad |= json_object_set_new(o, "signed", json_boolean(signer_key_id != NULL));
	bad |= json_object_set_new(o, "signer_key_id",
	    signer_key_id != NULL ? sk_json_str(signer_key_id) : json_null());
	bad |= json_object_set_new(o, "regions", regions);
	bad |= json_object_set_new(o, "phases", phases);
	bad |= json_object_set_new(o, "steps", steps);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* fuzz_config: the config loaders on what operators write. They read only
 * files, so the input goes to a file in the scratch directory each run.
 * The first byte picks the loader, the rest is the file:
 *   0  agent.yaml        sk_agent_config_load
 *   1  coordinator.yaml  sk_coord_config_load
 *   2  regions/af.yaml   sk_inventory_load of a directory holding it and
 *                        keys/agent-af.pub, a real key, so a good region
 *                        file loads whole
 * (other values: the same, modulo 3). Paths inside a file are resolved
 * and, for agent_key, read: an input may name any file on the machine.
 */
#include <stdlib.h>

#include "fuzz_util.h"
#include "sk_config.h"

#define HARNESS "config"

static char *agent_path, *coord_path, *region_dir, *region_path;

static void
free_paths(void)
{
	free(agent_path);
	free(coord_path);
	free(region_dir);
	free(region_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = { "af" };

	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	fuzz_make_inventory(names, 1);
	agent_path = fuzz_path("agent.yaml");
	coord_path = fuzz_path("coordinator.yaml");
	region_dir = fuzz_path("regions");
	region_path = fuzz_path("regions/af.yaml");
	atexit(free_paths);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sk_agent_config agent;
	sk_coord_config coord;
	sk_inventory inv;
	sk_err err;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_write_file(agent_path, data + 1, size - 1);
		if (sk_agent_config_load(agent_path, &agent, &err) == SK_OK)
			sk_agent_config_fini(&agent);
		break;
	case 1:
		fuzz_write_file(coord_path, data + 1, size - 1);
		if (sk_coord_config_load(coord_path, &coord, &err) == SK_OK)
			sk_coord_config_fini(&coord);
		break;
	default:
		fuzz_write_file(region_path, data + 1, size - 1);
		if (sk_inventory_load(region_dir, &inv, &err) == SK_OK) {
			if (inv.nregions != 1 ||
			    sk_inventory_find(&inv, inv.regions[0].name) == NULL)
				fuzz_fail(HARNESS,
				    "an inventory of one file "
				    "without its region");
			sk_inventory_fini(&inv);
		}
		break;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* devinfo.c - deviceInfo defaults. See devinfo.h. */
#include "events/devinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/lb_err.h"

/* UUIDv5(NameSpace_URL, "urn:lorabridge:tenant"), f47ac8d3-7dd0-5aa9-8caa-567a8a011862 */
const uint8_t devinfo_ns_tenant[UUID_LEN] = {0xf4, 0x7a, 0xc8, 0xd3, 0x7d, 0xd0, 0x5a, 0xa9,
					     0x8c, 0xaa, 0x56, 0x7a, 0x8a, 0x01, 0x18, 0x62};
/* UUIDv5(NameSpace_URL, "urn:lorabridge:application"), aa2862ac-a86e-51c4-a091-3e725651059c */
const uint8_t devinfo_ns_application[UUID_LEN] = {0xaa, 0x28, 0x62, 0xac, 0xa8, 0x6e, 0x51, 0xc4,
						  0xa0, 0x91, 0x3e, 0x72, 0x56, 0x51, 0x05, 0x9c};
/* UUIDv5(NameSpace_URL, "urn:lorabridge:device-profile"), 6a173e21-0b84-51e7-b5db-3e1712cf9355 */
const uint8_t devinfo_ns_device_profile[UUID_LEN] = {0x6a, 0x17, 0x3e, 0x21, 0x0b, 0x84, 0x51,
						     0xe7, 0xb5, 0xdb, 0x3e, 0x17, 0x12, 0xcf,
						     0x93, 0x55};

static int name_id(const uint8_t ns[UUID_LEN], const char *name, char out[DEVINFO_ID_SIZE])
{
	uint8_t id[UUID_LEN];

	if (!name || !out)
		return LB_ERR_INVAL;
	int rc = uuid_v5(ns, name, strlen(name), id);
	if (rc != LB_OK)
		return rc;
	uuid_format(id, out);
	return LB_OK;
}

int devinfo_application_id(const char *application, char out[DEVINFO_ID_SIZE])
{
	return name_id(devinfo_ns_application, application, out);
}

int devinfo_tenant_id(char out[DEVINFO_ID_SIZE])
{
	return name_id(devinfo_ns_tenant, DEVINFO_TENANT_NAME, out);
}

int devinfo_profile(const char *region, unsigned minor, char name[DEVINFO_PROFILE_NAME_SIZE],
		    char id[DEVINFO_ID_SIZE])
{
	return devinfo_profile_class(region, minor, 'A', name, id);
}

int devinfo_profile_class(const char *region, unsigned minor, char dev_class,
			  char name[DEVINFO_PROFILE_NAME_SIZE], char id[DEVINFO_ID_SIZE])
{
	if (!region || !name || !id || minor > 9 || (dev_class != 'A' && dev_class != 'C'))
		return LB_ERR_INVAL;
	int n = snprintf(name, DEVINFO_PROFILE_NAME_SIZE, "%s LoRaWAN 1.0.%u class %c", region,
			 minor, dev_class);
	if (n < 0 || n >= DEVINFO_PROFILE_NAME_SIZE)
		return LB_ERR_TOO_LARGE;
	return name_id(devinfo_ns_device_profile, name, id);
}

/* region with '-' as '_' and each letter through to_case; AS923-1 cut to
 * "AS923" (in either case): the ids of ChirpStack's shipped regions. */
static int region_name_as(const char *region, int (*to_case)(int),
			  char out[DEVINFO_REGION_ID_SIZE])
{
	size_t n;

	if (!region || !out)
		return LB_ERR_INVAL;
	n = strlen(region);
	if (n >= DEVINFO_REGION_ID_SIZE)
		return LB_ERR_TOO_LARGE;
	for (size_t i = 0; i <= n; i++)
		out[i] = region[i] == '-' ? '_' : (char)to_case((unsigned char)region[i]);
	/* ChirpStack's AS923-1 region is "as923" (region_as923.toml), its
	 * common name "AS923". */
	if (strcasecmp(out, "as923_1") == 0)
		out[strlen("as923")] = '\0';
	return LB_OK;
}

int devinfo_region_config_id(const char *region, char out[DEVINFO_REGION_ID_SIZE])
{
	return region_name_as(region, tolower, out);
}

int devinfo_region_common_name(const char *region, char out[DEVINFO_REGION_ID_SIZE])
{
	return region_name_as(region, toupper, out);
}

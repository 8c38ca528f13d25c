/* SPDX-License-Identifier: MIT */
/*
 * devinfo.h - the deviceInfo values a ChirpStack v4 event carries that a
 * configuration without tenants or device profiles does not have
 * (ChirpStack's integration.proto, message DeviceInfo). Stable, documented
 * defaults, so a flow keyed on them keeps working across restarts:
 *
 *   tenantName          "lorabridge"
 *   tenantId            UUIDv5(NS_TENANT, "lorabridge")
 *   applicationId       the configured applications[].id, else
 *                       UUIDv5(NS_APPLICATION, application name)
 *   deviceProfileName   "<region> LoRaWAN 1.0.<minor> class <A|C>", e.g.
 *                       "EU868 LoRaWAN 1.0.3 class A"
 *   deviceProfileId     UUIDv5(NS_DEVICE_PROFILE, deviceProfileName)
 *   deviceClassEnabled  "CLASS_A", or "CLASS_C" for a device configured
 *                       class "C" (ChirpStack's DeviceClass enum)
 *
 * The namespaces are themselves version-5 UUIDs of RFC 4122's NameSpace_URL
 * (Appendix C), so anyone can recompute an id, e.g. in Python:
 *   uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "urn:lorabridge:application"), "sim")
 *   NS_TENANT          = UUIDv5(NameSpace_URL, "urn:lorabridge:tenant")
 *   NS_APPLICATION     = UUIDv5(NameSpace_URL, "urn:lorabridge:application")
 *   NS_DEVICE_PROFILE  = UUIDv5(NameSpace_URL, "urn:lorabridge:device-profile")
 *
 * A SHA-1 per call: compute these once, when the configuration is loaded,
 * never per event. Pure functions: no I/O, no globals with state.
 */
#ifndef LB_DEVINFO_H
#define LB_DEVINFO_H

#include <stddef.h>
#include <stdint.h>

#include "base/uuid.h"

#define DEVINFO_TENANT_NAME "lorabridge"
#define DEVINFO_CLASS "CLASS_A"
#define DEVINFO_CLASS_C "CLASS_C"
#define DEVINFO_ID_SIZE (UUID_STR_LEN + 1)
#define DEVINFO_PROFILE_NAME_SIZE 48
#define DEVINFO_REGION_ID_SIZE 16

extern const uint8_t devinfo_ns_tenant[UUID_LEN];
extern const uint8_t devinfo_ns_application[UUID_LEN];
extern const uint8_t devinfo_ns_device_profile[UUID_LEN];

/* applicationId of an application without a configured id. LB_OK,
 * LB_ERR_INVAL (NULL), LB_ERR_CRYPTO. */
int devinfo_application_id(const char *application, char out[DEVINFO_ID_SIZE]);

/* tenantId of DEVINFO_TENANT_NAME. Errors as above. */
int devinfo_tenant_id(char out[DEVINFO_ID_SIZE]);

/* deviceProfileName and deviceProfileId for region (its name, "EU868") and
 * LoRaWAN 1.0.minor. LB_OK, LB_ERR_INVAL (NULL, minor > 9), LB_ERR_CRYPTO. */
int devinfo_profile(const char *region, unsigned minor, char name[DEVINFO_PROFILE_NAME_SIZE],
		    char id[DEVINFO_ID_SIZE]);
/* The same for class dev_class 'A' or 'C' (devinfo_profile() is class A);
 * another letter is LB_ERR_INVAL. */
int devinfo_profile_class(const char *region, unsigned minor, char dev_class,
			  char name[DEVINFO_PROFILE_NAME_SIZE], char id[DEVINFO_ID_SIZE]);

/* ChirpStack's region config id of a region name, the id of its shipped
 * region_*.toml: lower case, '-' as '_', AS923-1 as "as923" ("EU868" ->
 * "eu868", "AS923-2" -> "as923_2", "KR920" -> "kr920"). LB_OK, LB_ERR_INVAL
 * (NULL), LB_ERR_TOO_LARGE. */
int devinfo_region_config_id(const char *region, char out[DEVINFO_REGION_ID_SIZE]);

/* ChirpStack's region common name of a region name (its CommonName as
 * printed, the rxInfo metadata `region_common_name`): upper case, '-' as
 * '_', AS923-1 as "AS923" ("EU868" -> "EU868", "AS923-2" -> "AS923_2").
 * LB_OK, LB_ERR_INVAL (NULL), LB_ERR_TOO_LARGE. */
int devinfo_region_common_name(const char *region, char out[DEVINFO_REGION_ID_SIZE]);

#endif

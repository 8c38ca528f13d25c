/*
 * command.h - downlink commands from MQTT (ChirpStack's command topic):
 *
 *   application/{application}/device/{dev_eui}/command/down
 *   {"devEui": "...", "confirmed": false, "fPort": 10, "data": "<base64>", "id": "..."}
 *
 * A valid command is queued durably (store.h) for the device's next receive
 * window. An invalid one is refused with a `log` event on the device's
 * topic naming the reason (INVALID_JSON, DEV_EUI_MISMATCH, INVALID_FPORT,
 * INVALID_DATA, PAYLOAD_TOO_LARGE, UNKNOWN_DEVICE, QUEUE_FULL,
 * DUPLICATE_ID, ...), never crashes.
 */
#ifndef LB_COMMAND_H
#define LB_COMMAND_H

#include <stddef.h>

/* The MQTT on_message callback; arg is the struct bridge. */
void command_on_message(void *arg, const char *topic, const void *payload, size_t len);

#endif

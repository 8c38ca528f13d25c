# SPDX-License-Identifier: MIT
"""Check Home Assistant discovery configs against the up events they read.

Usage: hass_check.py CONFIGS UPS FIELDS AVAILABILITY
  CONFIGS  lines "topic payload": the retained discovery configs
  UPS      lines "topic payload": the up events the bridge published
  FIELDS   lines "topic payload": the retained per-field topics ("-": none)
  AVAILABILITY  the bridge state topic every config must name

Each config's value_template is applied to the last up event of its device
by a reader of the restricted form lorabridge writes (src/events/hass_json.h),
and, when Python's jinja2 is installed, by Jinja itself too; the result must
be the field's value as Home Assistant would show it (Python's str() of the
JSON value). Applied to the same up event without the object, it must render
'' for a numeric or binary sensor (which Home Assistant ignores) and, for any
other sensor, the entity's present state (`this.state`, given as THIS), or
'None' (no value to Home Assistant) when that state is "unavailable" (expired)
or "unknown" (never set): never those words as a text sensor's value.
Prints what it checked; exits 1 on the first problem.
"""
import codecs
import datetime
import json
import re
import sys

DIAG = {"link-rssi", "link-snr", "last-seen"}
# The entity's present state, as `this.state` renders in the templates.
THIS = "<this.state>"
# The states that are no value, and what the templates render for them.
NO_VALUE = ("unavailable", "unknown")
# What a text or timestamp sensor's template renders when the field is absent.
KEEP = "this.state if this.state not in ['unavailable', 'unknown'] else 'None'"
# CayenneLPP fields of lorabridge-sim --payload cayennelpp and what they must be.
LPP = {
    "temperatureSensor_1": ("sensor", "temperature", "°C"),
    "humiditySensor_2": ("sensor", "humidity", "%"),
    "voltage_3": ("sensor", "voltage", "V"),
}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def read_lines(path):
    out = []
    if path == "-":
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            topic, _, payload = line.partition(" ")
            out.append((topic, payload))
    return out


# ---- the restricted template form ---------------------------------------

KEY = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')
IDX = re.compile(r"\[(\d+)\]")
UNDEFINED = object()


def jinja_string(s):
    """Decode a Jinja string literal body as Jinja's lexer does."""
    return codecs.decode(s.encode("ascii", "backslashreplace"), "unicode-escape")


def path_expr(text, pos, up):
    """E_n of hass_json.h at text[pos:]: (value, new pos)."""
    n = 0
    while text.startswith("(", pos) and not text.startswith("('", pos):
        n += 1
        pos += 1
    lit = "value_json.object"
    if not text.startswith(lit, pos):
        fail("template not of the documented form at %d: %s" % (pos, text))
    pos += len(lit)
    cur = up.get("object", UNDEFINED)
    for _ in range(n):
        guard = " | default({}))"
        if not text.startswith(guard, pos):
            fail("template not of the documented form at %d: %s" % (pos, text))
        pos += len(guard)
        if cur is UNDEFINED:
            cur = {}
        m = KEY.match(text, pos)
        if m:
            k = jinja_string(m.group(1))
            cur = cur.get(k, UNDEFINED) if isinstance(cur, dict) else UNDEFINED
        else:
            m = IDX.match(text, pos)
            if not m:
                fail("bad subscript at %d: %s" % (pos, text))
            i = int(m.group(1))
            cur = cur[i] if isinstance(cur, list) and i < len(cur) else UNDEFINED
        pos = m.end()
    return cur, pos


def is_number(v):
    return isinstance(v, (int, float)) and v is not UNDEFINED


def kept(this):
    return "None" if this in NO_VALUE else this


def evaluate(tpl, up, this=THIS):
    """The text Home Assistant renders from tpl for the up event `up`, the
    entity's state being `this`."""
    best = re.fullmatch(r"\{\{ value_json\.rxInfo \| default\(\[\]\) \| selectattr\('(\w+)', "
                        r"'defined'\) \| map\(attribute='\1'\) \| max \| default\(''\) \}\}", tpl)
    if best:
        vals = [r[best.group(1)] for r in up.get("rxInfo", []) if best.group(1) in r]
        return str(max(vals)) if vals else ""
    if tpl == "{{ value_json.time }}":
        return str(up["time"])
    if not tpl.startswith("{{ "):
        fail("template does not start with '{{ ': " + tpl)
    for none, head in (("", "{{ '' if "), (kept(this), "{{ (" + KEEP + ") if ")):
        if tpl.startswith(head):
            break
    else:
        head = None
    if head:
        v, pos = path_expr(tpl, len(head), up)
        rest = " is not number else "
        if not tpl.startswith(rest, pos):
            fail("template not of the documented form: " + tpl)
        pos += len(rest)
        if tpl.endswith(" | timestamp_utc }}"):
            _, end = path_expr(tpl, pos, up)
            if tpl[end:] != " | timestamp_utc }}":
                fail("template not of the documented form: " + tpl)
            if not is_number(v):
                return none
            return datetime.datetime.fromtimestamp(v, datetime.timezone.utc).isoformat()
        if not tpl.startswith("(", pos):
            fail("template not of the documented form: " + tpl)
        _, end = path_expr(tpl, pos + 1, up)
        if tpl[end:] != " != 0) | lower }}":
            fail("template not of the documented form: " + tpl)
        return none if not is_number(v) else str(v != 0).lower()
    v, pos = path_expr(tpl, 3, up)
    tail = tpl[pos:]
    tails = {" | default('') }}": "", " | default('') | lower }}": "",
             " | default(" + KEEP + ") }}": kept(this),
             " | default(" + KEEP + ") | lower }}": kept(this)}
    if tail not in tails:
        fail("template not of the documented form: " + tpl)
    if v is UNDEFINED:
        return tails[tail]
    s = str(v)
    return s.lower() if tail.endswith("| lower }}") else s


def jinja_renderer():
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        return None
    env = ImmutableSandboxedEnvironment()
    env.filters["timestamp_utc"] = lambda v: datetime.datetime.fromtimestamp(
        v, datetime.timezone.utc).isoformat()

    def render(tpl, up, this=THIS):
        return env.from_string(tpl).render(value_json=up, this={"state": this})
    return render


# ---- the checks -----------------------------------------------------------

def flatten(obj, prefix=""):
    """(name, value) of every leaf, named as hass_json.h says."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for k, v in items:
        seg = re.sub(r"[^A-Za-z0-9_]", "_", str(k)) or "_"
        name = prefix + "_" + seg if prefix else seg
        if isinstance(v, (dict, list)):
            yield from flatten(v, name)
        elif v is not None:
            yield name, v


def main():
    if len(sys.argv) != 5:
        fail("usage: hass_check.py CONFIGS UPS FIELDS AVAILABILITY")
    configs = read_lines(sys.argv[1])
    ups = read_lines(sys.argv[2])
    fields = read_lines(sys.argv[3])
    availability = sys.argv[4]
    jinja = jinja_renderer()

    last_up = {}     # dev_eui -> (topic, event)
    for topic, payload in ups:
        ev = json.loads(payload)
        last_up[ev["deviceInfo"]["devEui"]] = (topic, ev)
    if not last_up:
        fail("no up events")

    seen = {}        # dev_eui -> set of object_ids
    for topic, payload in configs:
        m = re.fullmatch(r"homeassistant/(sensor|binary_sensor)/([0-9a-f]{16})/([A-Za-z0-9_-]+)"
                         r"/config", topic)
        if not m:
            fail("unexpected discovery topic " + topic)
        component, eui, oid = m.groups()
        if eui not in last_up:
            fail("config for %s, which sent nothing" % eui)
        up_topic, up = last_up[eui]
        cfg = json.loads(payload)
        if cfg["state_topic"] != up_topic:
            fail("%s: state_topic %s, the up events are on %s" % (topic, cfg["state_topic"], up_topic))
        if cfg.get("availability_topic") != availability:
            fail("%s: availability_topic %s" % (topic, cfg.get("availability_topic")))
        if cfg["device"]["identifiers"] != [eui]:
            fail("%s: device identifiers %s" % (topic, cfg["device"]["identifiers"]))
        if cfg["unique_id"] != "lorabridge_%s_%s" % (eui, oid):
            fail("%s: unique_id %s" % (topic, cfg["unique_id"]))
        got = evaluate(cfg["value_template"], up)
        if jinja:
            j = jinja(cfg["value_template"], up)
            if j != got:
                fail("%s: Jinja renders '%s', the reader '%s'" % (topic, j, got))
        values = dict(flatten(up.get("object", {})))
        if oid in DIAG:
            if cfg.get("entity_category") != "diagnostic":
                fail(topic + ": not a diagnostic entity")
            want = {"link-rssi": str(max(r["rssi"] for r in up["rxInfo"])),
                    "link-snr": str(max(r["snr"] for r in up["rxInfo"])),
                    "last-seen": up["time"]}[oid]
        else:
            if oid not in values:
                fail("%s: no field %s in the last up event's object %s" % (topic, oid, up.get("object")))
            v = values[oid]
            want = str(v).lower() if isinstance(v, bool) else str(v)
            if oid in LPP:
                comp, dc, unit = LPP[oid]
                if (component, cfg.get("device_class"), cfg.get("unit_of_measurement")) != (comp, dc, unit):
                    fail("%s: %s/%s/%s, want %s/%s/%s" % (topic, component, cfg.get("device_class"),
                                                          cfg.get("unit_of_measurement"), comp, dc, unit))
        if got != want:
            fail("%s: value_template gives '%s' on the last up event, want '%s'" % (topic, got, want))
        if oid not in DIAG:
            # Without the field: Home Assistant drops '' where it expects a
            # number (unit or state_class) and on a binary_sensor; any other
            # sensor (text, timestamp) keeps its state, or has none ('None')
            # when that state is none (expired, never set).
            keep = component == "sensor" and (
                cfg.get("device_class") == "timestamp" or
                ("unit_of_measurement" not in cfg and "state_class" not in cfg))
            bare = dict(up)
            bare.pop("object", None)
            for this in (THIS,) + NO_VALUE:
                want = (THIS if this == THIS else "None") if keep else ""
                for what, ev in (("without object", bare),
                                 ("with an empty object", {**up, "object": {}})):
                    got = evaluate(cfg["value_template"], ev, this)
                    if jinja and jinja(cfg["value_template"], ev, this) != got:
                        fail("%s: Jinja and the reader differ %s, state %s" % (topic, what, this))
                    if got != want:
                        fail("%s: value_template gives '%s' on an up event %s, state %s, want '%s'"
                             % (topic, got, what, this, want))
        seen.setdefault(eui, set()).add(oid)

    for eui, (_, up) in last_up.items():
        want = DIAG | {n for n, _ in flatten(up.get("object", {}))}
        if seen.get(eui, set()) != want:
            fail("device %s: configs for %s, want %s" % (eui, sorted(seen.get(eui, set())), sorted(want)))

    for topic, payload in fields:
        m = re.fullmatch(r"application/[^/]+/device/([0-9a-f]{16})/object/([A-Za-z0-9_]+)", topic)
        if not m:
            fail("unexpected field topic " + topic)
        eui, name = m.groups()
        values = dict(flatten(last_up[eui][1].get("object", {})))
        if name not in values or json.loads(payload) != values[name]:
            fail("%s: '%s', the last up event has %s" % (topic, payload, values.get(name)))

    print("ok: %d configs of %d device(s) read their values from the up events%s; %d field topics"
          % (len(configs), len(last_up), " (also rendered by Jinja)" if jinja else "", len(fields)))


main()

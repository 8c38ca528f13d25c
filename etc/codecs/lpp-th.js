// SPDX-License-Identifier: MIT
// Example payload codec for lorabridge (codec = "js"): a temperature /
// humidity / battery sensor whose payload is Cayenne LPP
//   01 67 TTTT   temperature, 0.1 degC, signed
//   02 68 HH     humidity, 0.5 %RH
//   03 74 VVVV   battery, 0.01 V
// written the way vendors publish codecs: LoRaWAN TS013-1.0.0
// decodeUplink / encodeDownlink. The demo's OTAA devices use it.

function int16(hi, lo) {
  var v = (hi << 8) | lo;
  return v > 0x7fff ? v - 0x10000 : v;
}

function decodeUplink(input) {
  var b = input.bytes;
  var data = {};
  var warnings = [];
  for (var i = 0; i + 1 < b.length; ) {
    var channel = b[i], type = b[i + 1];
    i += 2;
    if (type === 0x67) { data.temperature = int16(b[i], b[i + 1]) / 10; i += 2; }
    else if (type === 0x68) { data.humidity = b[i] / 2; i += 1; }
    else if (type === 0x74) { data.battery = int16(b[i], b[i + 1]) / 100; i += 2; }
    else return { errors: ["unknown type " + type + " on channel " + channel] };
  }
  if (data.battery !== undefined && data.battery < 3.0)
    warnings.push("battery low");
  return { data: data, warnings: warnings };
}

// {"interval_s": 600} -> 01 02 58: set the reporting interval.
function encodeDownlink(input) {
  var s = input.data.interval_s;
  if (typeof s !== "number" || s < 10 || s > 65535)
    return { errors: ["interval_s must be a number of seconds, 10..65535"] };
  return { bytes: [1, (s >> 8) & 0xff, s & 0xff], fPort: 10 };
}

"""Summary of examples/federated/run-mqtt.sh: accuracy per round over MQTT
against the central and local-only references of `mote fed sim` on the
same slices, and traffic per device against uploading the raw windows.

usage: mqtt_report.py OUT DEVICES BROKER_BYTES_RX BROKER_BYTES_TX WALL_S"""
import csv
import json
import re
import sys

out, devices = sys.argv[1], int(sys.argv[2])
rx, tx, wall = float(sys.argv[3] or 0), float(sys.argv[4] or 0), sys.argv[5]
ref = json.load(open(out + "/sim/summary.json"))
rounds = list(csv.DictReader(open(out + "/mqtt/rounds.csv")))
# a resumed round may be recorded twice only if moted died after writing
# the row; keep the last row of each round
by_round = {int(r["round"]): r for r in rounds}
rounds = [by_round[k] for k in sorted(by_round)]
central = ref["central_accuracy"]
acc = [float(r["accuracy"]) for r in rounds]
within = next((int(r["round"]) for r, a in zip(rounds, acc) if a >= central - 0.01), -1)
fl = re.search(r"update bytes up (\d+) \((\d+) per device\), global bytes down (\d+) \((\d+) per device\)",
               open(out + "/devices.txt").read())
up_dev = float(fl.group(2)) if fl else float("nan")
down_dev = float(fl.group(4)) if fl else float("nan")
raw = ref["raw_bytes_per_device"]
plain = next((v for v in ref["variants"] if v["name"] == "plain"), None)
print(f"rounds over MQTT              {len(rounds)} ({devices} devices, wall {wall} s)")
print(f"final accuracy, MQTT          {100 * acc[-1]:.2f} %")
if plain:
    print(f"final accuracy, in process    {100 * plain['final_accuracy']:.2f} % (plain variant, same slices)")
print(f"central head (pooled data)    {100 * central:.2f} %  -> MQTT within 1 point from round {within}")
print(f"local-only heads              {100 * ref['local_mean']:.2f} % mean "
      f"({100 * ref['local_min']:.2f}-{100 * ref['local_max']:.2f} %)")
for r in rounds:
    print(f"  round {int(r['round']):2d}: selected {r['selected']}, received {r['received']}, "
          f"dropped {r['dropped']}, rejected {r['rejected']}, ok {r['ok']}, accuracy {100 * float(r['accuracy']):.2f} %")
print(f"update bytes sent per device  {up_dev:.0f} (fl/up payloads, whole training)")
sec = re.search(r"secure-aggregation bytes up \d+ \((\d+) per device", open(out + "/devices.txt").read())
if sec:
    print(f"secure-agg bytes sent/device  {sec.group(1)} (keys, boxed shares, revealed shares on fl/up)")
    up_dev += float(sec.group(1))
print(f"raw training windows          {raw:.0f} per device -> {100 * (1 - up_dev / raw):.2f} % less")
print(f"global bytes received/device  {down_dev:.0f} (signed heads{' and secure-aggregation broadcasts' if sec else ''}"
      " on mote/v1/fl/global)")
if rx > 0:
    print(f"broker bytes received, all    {rx:.0f} ({rx / devices:.0f} per device incl. TD, state, moted)"
          f" -> {100 * (1 - rx / devices / raw):.2f} % less than the raw windows")
    print(f"broker bytes sent, all        {tx:.0f}")

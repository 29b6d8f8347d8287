#!/usr/bin/python3
"""Print what an iocagent publishes, one line per message, as it arrives.

usage: demo_subscriber.py [--host 127.0.0.1] [--port 1883] [--prefix ioc]

Events and telemetry are shown as "time source type severity data"; snapshots
by their size; status and metrics changes in short form. This is what an IOC
subscriber sees: it subscribes like one (MQTT v5, QoS 1).
"""
import argparse
import json
import sys

import paho.mqtt.client as mqtt


def short(obj, limit=160):
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def on_message(_client, _userdata, msg):
    parts = msg.topic.split("/")
    leaf = parts[-1]
    if leaf == "snapshot":
        print(f"{'':24} {parts[-2]:<16} snapshot        {len(msg.payload)} bytes JPEG", flush=True)
        return
    try:
        doc = json.loads(msg.payload)
    except ValueError:
        print(f"{msg.topic}: {len(msg.payload)} bytes (not JSON)", flush=True)
        return
    if leaf == "status":
        states = ", ".join(f"{i['name']}={i['state']}" for i in doc.get("instances", []))
        print(f"{'':24} status: {doc.get('state')} {states}", flush=True)
    elif leaf == "metrics":
        q = doc.get("queue", {})
        print(f"{'':24} metrics: rss {doc.get('rss_bytes', 0) // 1024} KiB, "
              f"backlog {q.get('depth')}, delivered {q.get('delivered')}", flush=True)
    else:
        data = doc.get("data", {})
        if doc.get("type") == "telemetry":
            data = {r["name"]: r["value"] for r in data.get("readings", [])}
        print(f"{doc.get('time', ''):<24} {doc.get('source', ''):<16} {doc.get('type', ''):<16}"
              f"{doc.get('severity', ''):<9}#{doc.get('seq')} {short(data)}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--prefix", default="ioc")
    args = ap.parse_args()
    client = mqtt.Client(client_id="", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect(args.host, args.port)
    client.subscribe(f"{args.prefix}/#", qos=1)
    try:
        client.loop_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

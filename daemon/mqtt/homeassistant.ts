// Home Assistant MQTT discovery: retained configs under {prefix}/…/config for each faces-mode camera,
// all reading the debounced state topic, with the daemon's status topic as availability.

export interface DiscoveryInput {
  prefix: string;
  site: string;
  deviceId: string;
  statusTopic: string;
  stateTopic: (camera: string) => string;
  cameras: string[];
  version: string;
  /** With people counting (issue 14): sensors reading the health topic's `people` counts. */
  healthTopic?: string;
}

/** The discovery messages (topic → JSON payload), pure. */
export function discoveryMessages(d: DiscoveryInput): { topic: string; payload: string }[] {
  const device = { identifiers: [`mobilenet-edge-${d.site}-${d.deviceId}`], name: `mobilenet-edge ${d.deviceId}`, manufacturer: 'mobilenet-edge', sw_version: d.version };
  // "stopped" (clean stop) and "offline" (Last Will) both mean unavailable.
  const availability = [{ topic: d.statusTopic, value_template: "{{ 'online' if value == 'online' else 'offline' }}" }];
  const out: { topic: string; payload: string }[] = [];
  for (const cam of d.cameras) {
    const base = `${d.site}_${d.deviceId}_${cam}`;
    const common = { state_topic: d.stateTopic(cam), json_attributes_topic: d.stateTopic(cam), availability, device };
    out.push({
      topic: `${d.prefix}/sensor/${base}_mask/config`,
      payload: JSON.stringify({ ...common, name: `${cam} mask state`, unique_id: `${base}_mask`, value_template: '{{ value_json.state }}', icon: 'mdi:face-mask' }),
    });
    out.push({
      topic: `${d.prefix}/binary_sensor/${base}_no_mask/config`,
      payload: JSON.stringify({ ...common, name: `${cam} unmasked face`, unique_id: `${base}_no_mask`, device_class: 'problem', value_template: "{{ 'ON' if value_json.state == 'no_mask' else 'OFF' }}" }),
    });
    out.push({
      topic: `${d.prefix}/sensor/${base}_faces/config`,
      payload: JSON.stringify({ ...common, name: `${cam} faces`, unique_id: `${base}_faces`, value_template: '{{ value_json.counts.faces }}', state_class: 'measurement' }),
    });
    if (d.healthTopic) {
      // people per verdict: since start (total_increasing) and over the last hour (measurement)
      for (const [label, what] of [['no_mask', 'unmasked'], ['mask', 'masked']] as const) {
        const path = `value_json.people[${JSON.stringify(cam)}]`;
        out.push({
          topic: `${d.prefix}/sensor/${base}_people_${label}_total/config`,
          payload: JSON.stringify({ state_topic: d.healthTopic, availability, device, name: `${cam} ${what} people`, unique_id: `${base}_people_${label}_total`, value_template: `{{ ${path}.total.${label} }}`, state_class: 'total_increasing', unit_of_measurement: 'people', icon: 'mdi:account-group' }),
        });
        out.push({
          topic: `${d.prefix}/sensor/${base}_people_${label}_hour/config`,
          payload: JSON.stringify({ state_topic: d.healthTopic, availability, device, name: `${cam} ${what} people last hour`, unique_id: `${base}_people_${label}_hour`, value_template: `{{ ${path}.hour.${label} }}`, state_class: 'measurement', unit_of_measurement: 'people', icon: 'mdi:account-clock' }),
        });
      }
    }
  }
  return out;
}

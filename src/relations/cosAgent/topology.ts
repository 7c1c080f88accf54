// Where a unit sits in Juju, as the cos_agent library describes it
// (cos-lib's JujuTopology): it names rule groups and labels rules.

export interface JujuTopology {
  readonly model: string;
  readonly modelUuid: string;
  readonly application: string;
  /** The charm's name in metadata.yaml. */
  readonly charm: string;
}

/** `<model>_<first 8 of the model UUID>_<application>`, cos-lib's `identifier`. */
export function topologyIdentifier(topology: JujuTopology): string {
  const { model, modelUuid, application } = topology;
  return `${model}_${modelUuid.slice(0, 8)}_${application}`.replaceAll("/", "_");
}

/** The `juju_*` labels cos-lib puts on every rule (`label_matcher_dict`: no unit). */
export function topologyLabels(topology: JujuTopology): Record<string, string> {
  const labels: [string, string][] = [
    ["juju_model", topology.model],
    ["juju_model_uuid", topology.modelUuid],
    ["juju_application", topology.application],
    ["juju_charm", topology.charm],
  ];
  return Object.fromEntries(labels.filter(([, value]) => value !== ""));
}

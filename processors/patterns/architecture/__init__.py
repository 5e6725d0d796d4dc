"""Architecture documents: YAML components (:mod:`.yaml_components`) or documentation sections, plus the
component graph (:mod:`.graph`: manifests, diagrams, prose) and the styles read from it
(:mod:`.styles`). :mod:`.records` is the extractor that puts them together."""

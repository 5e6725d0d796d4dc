"""Python source through ``ast``: records (:mod:`.records`), idiom tags (:mod:`.idioms`) and the
structural summary (:mod:`.summary`, function bodies by :mod:`.body`)."""

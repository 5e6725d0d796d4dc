"""Java, JavaScript, TypeScript/TSX, Go, Rust, C and C++ source through tree-sitter.

:mod:`.languages` picks the grammar; :mod:`.parse` walks the tree (one walker per language family:
:mod:`.java`, :mod:`.javascript`, :mod:`.go`, :mod:`.rust`, :mod:`.cfamily`) and analyses method
bodies (:mod:`.body`) into the structural summary; :mod:`.records` turns the definitions into records.
"""

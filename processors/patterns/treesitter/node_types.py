"""Node types of the tree-sitter grammars by the role they play in a function body.

Node types with the same role have different names per grammar but rarely clash, so each table is
a union over Java, JavaScript/TypeScript, Go, Rust, C and C++.
"""

from __future__ import annotations

from typing import Any

MEMBER = {"field_access", "member_expression", "selector_expression", "field_expression"}
CALL = {"method_invocation", "call_expression"}
NEW = {"object_creation_expression", "new_expression", "composite_literal", "struct_expression"}
ASSIGN = {"assignment_expression", "assignment_statement"}
DECL = {"local_variable_declaration", "lexical_declaration", "variable_declaration", "short_var_declaration",
         "var_declaration", "let_declaration", "declaration"}
RETURN = {"return_statement", "return_expression"}
COND = {"if_statement", "if_expression", "ternary_expression", "conditional_expression", "switch_statement",
         "switch_expression", "match_expression", "expression_switch_statement", "type_switch_statement",
         "select_statement", "catch_clause", "switch_block", "match_block", "else_clause", "let_condition"}
LOOP = {"for_statement", "enhanced_for_statement", "while_statement", "do_statement", "for_in_statement",
         "for_expression", "while_expression", "loop_expression", "for_range_loop"}
LAMBDA = {"lambda_expression", "arrow_function", "function_expression", "func_literal", "closure_expression",
           "function", "generator_function"}
THROW = {"throw_statement", "throw_expression"}
YIELD = {"yield_expression", "yield_statement", "yield"}
PASS = {"parenthesized_expression", "cast_expression", "as_expression", "non_null_expression", "await_expression",
         "reference_expression", "try_expression", "type_assertion", "satisfies_expression", "pointer_expression",
         "unary_expression", "type_assertion_expression", "expression_list", "parenthesized_declarator"}
LITERALS = {"number", "string", "true", "false", "null", "nil", "undefined", "template_string", "null_literal",
             "true_literal", "false_literal", "boolean_literal", "unit_expression", "none", "nullptr",
             "interpreted_string_literal", "raw_string_literal", "string_literal", "char_literal", "integer_literal",
             "float_literal", "decimal_integer_literal", "decimal_floating_point_literal", "number_literal",
             "hex_integer_literal", "character_literal", "text_block", "int_literal", "rune_literal",
             "concatenated_string", "regex"}
ARRAYS = {"array", "array_creation_expression", "array_initializer", "array_expression", "initializer_list",
           "vec_literal"}
SUBSCRIPT = {"subscript_expression", "index_expression", "array_access", "element_access"}
SELF = {"this", "self"}
ADD = {"add", "push", "push_back", "emplace_back", "append", "addLast", "addFirst", "offer", "push_front",
        "unshift", "addElement", "add_child", "insert", "Add", "PushBack", "Push", "enqueue", "addAll",
        "extend", "concat"}
KEYED = {"put", "set", "computeIfAbsent", "putIfAbsent", "emplace", "try_emplace", "entry", "insert_or_assign",
          "Store", "LoadOrStore", "setdefault"}
ITERISH = {"iter", "iter_mut", "into_iter", "values", "stream", "keySet", "entrySet", "begin", "toArray",
            "slice", "values_mut", "entries", "keys", "forEach", "for_each"}
EACH = {"forEach", "for_each", "each", "map", "filter", "some", "every", "forEachOrdered", "ForEach", "Range"}
CREATION_FNS = {"new", "default", "create", "from", "of", "with_capacity", "new_with"}
PASS_FNS = {"Box", "Rc", "Arc", "RefCell", "Cell", "Mutex", "RwLock", "Some", "Ok", "Err", "Pin", "Cow",
             "Optional", "of", "ofNullable", "requireNonNull", "move", "forward", "ref", "cref", "Objects",
             "std", "make_pair", "Weak", "downgrade"}
EMPTY_MACROS = {"unimplemented", "todo", "panic", "unreachable"}
NI_EXCEPTIONS = {"UnsupportedOperationException", "NotImplementedException", "Error", "RuntimeException",
                  "logic_error", "runtime_error", "NotImplementedError"}


def field_child(node: Any, *names: str) -> Any:
    """The first of ``node``'s children named by one of the grammar fields ``names`` (or ``None``)."""
    for n in names:
        c = node.child_by_field_name(n)
        if c is not None:
            return c
    return None

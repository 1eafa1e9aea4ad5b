"""DuckDB stores a JSON object read into VARCHAR as its own re-serialization (yyjson); Spark keeps
the source text. For JSON.stringify text the two differ only in \\u00XX escapes (DuckDB writes
uppercase hex) and exponents (DuckDB drops the "+" of "e+"). This rewrites exactly those."""


def normalize_json_text(text):
    if text is None:
        return None
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            if c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                if nxt == "u" and i + 5 < n + 0 and i + 6 <= n:
                    out.append("\\u" + text[i + 2:i + 6].upper())
                    i += 6
                    continue
                out.append(text[i:i + 2])
                i += 2
                continue
            if c == '"':
                in_string = False
            out.append(c)
        else:
            if c == '"':
                in_string = True
                out.append(c)
            elif c in "eE" and i + 1 < n and text[i + 1] == "+":
                out.append(c)
                i += 2
                continue
            else:
                out.append(c)
        i += 1
    return "".join(out)

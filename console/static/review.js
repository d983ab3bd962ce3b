// Keyboard shortcuts for the assess form (review queue and entry page).
// Everything works without them: they only save keystrokes. Keys act only
// when focus is not in a text field, so typing a note never triggers them.
(function () {
  "use strict";
  var form = document.getElementById("assess");
  if (!form) { return; }
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text") || el.tagName === "SELECT");
  }
  function pick(id) { var el = document.getElementById(id); if (el) { el.checked = true; el.focus(); } }
  function severity(v) { var s = document.getElementById("severity"); if (s) { s.value = v; } }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey && ev.key === "Enter" && form.contains(document.activeElement)) {
      ev.preventDefault(); form.requestSubmit(); return;
    }
    if (ev.key === "Escape" && typing(document.activeElement)) { document.activeElement.blur(); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) { return; }
    switch (ev.key) {
      case "i": pick("verdict-illegal"); break;
      case "n": pick("verdict-not-illegal"); break;
      case "u": var skip = document.getElementById("skip"); if (skip) { skip.click(); } break;
      case "c": var c = document.getElementById("category"); c.value = c.value === "baseline" ? "national" : "baseline"; c.focus(); break;
      case "1": severity("A"); break;
      case "2": severity("B"); break;
      case "3": severity("C"); break;
      case "0": severity(""); break;
      case "t": break; // on keyup, so the key's character is not typed into the note
      case "s": form.requestSubmit(); break;
      default: return;
    }
    ev.preventDefault();
  });
  document.addEventListener("keyup", function (ev) {
    if (ev.key === "t" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typing(document.activeElement)) {
      document.getElementById("note").focus();
    }
  });
}());

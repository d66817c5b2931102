/* ERS Webmail: keyboard shortcuts and a confirm() before Delete.
 * Plain script, no libraries, loaded with defer; every page works without
 * it (links, forms and the Delete confirmation page stay the real thing).
 * The pages mark what a key does with data-key="x": the key clicks that
 * element, so the server decides what exists on each page. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.className += " js";

  var HELP = [
    ["?", "Show this help"],
    ["Esc", "Close this help"],
    ["c", "Compose a new message"],
    ["j / k", "Next / previous message in the list"],
    ["Enter or o", "Open the selected message"],
    ["r", "Reply (in a message)"],
    ["f", "Forward (in a message)"],
    ["u", "Mark as Unread (in a message)"],
    ["# or Delete", "Delete (asks first)"],
    ["b", "Back to the folder (in a message)"],
    ["g then i", "Go to Inbox"]
  ];

  /* --- Delete asks with a dialog; confirm=1 then skips the server's page. */
  function confirmForm(form) {
    var text = form.getAttribute("data-confirm");
    if (!window.confirm(text)) return false;
    if (!form.querySelector("input[name=confirm]")) {
      var i = doc.createElement("input");
      i.type = "hidden";
      i.name = "confirm";
      i.value = "1";
      form.appendChild(i);
    }
    return true;
  }
  doc.addEventListener("submit", function (e) {
    var form = e.target;
    if (form && form.hasAttribute && form.hasAttribute("data-confirm") && !confirmForm(form))
      e.preventDefault();
  });

  /* --- the help overlay, built with DOM calls (no markup strings). */
  var overlay = null, lastFocus = null;
  function el(tag, cls, text) {
    var n = doc.createElement(tag);
    if (cls) n.className = cls;
    if (text) n.textContent = text;
    return n;
  }
  function buildHelp() {
    overlay = el("div", "overlay");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-labelledby", "ers-help-title");
    var box = el("div", "overlay-box");
    var h = el("h2", null, "Keyboard shortcuts");
    h.id = "ers-help-title";
    box.appendChild(h);
    var dl = el("dl", "keys");
    HELP.forEach(function (row) {
      var dt = el("dt"), dd = el("dd", null, row[1]);
      row[0].split(" ").forEach(function (part) {
        if (part === "/" || part === "or" || part === "then") dt.appendChild(doc.createTextNode(" " + part + " "));
        else dt.appendChild(el("kbd", null, part));
      });
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    box.appendChild(dl);
    box.appendChild(el("p", "hint", "Shortcuts do nothing while you type in a field."));
    var close = el("button", "secondary", "Close");
    close.type = "button";
    close.addEventListener("click", hideHelp);
    box.appendChild(close);
    overlay.appendChild(box);
    overlay.addEventListener("click", function (e) { if (e.target === overlay) hideHelp(); });
    doc.body.appendChild(overlay);
  }
  function showHelp() {
    if (!overlay) buildHelp();
    lastFocus = doc.activeElement;
    overlay.classList.add("open");
    overlay.querySelector("button").focus();
  }
  function hideHelp() {
    if (!overlay || !overlay.classList.contains("open")) return false;
    overlay.classList.remove("open");
    if (lastFocus && lastFocus.focus) lastFocus.focus();
    return true;
  }
  function helpOpen() { return overlay && overlay.classList.contains("open"); }
  Array.prototype.forEach.call(doc.querySelectorAll("[data-help]"), function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); showHelp(); });
  });

  /* --- the message list: j/k move a selection, Enter/o open it. */
  var rows = Array.prototype.slice.call(doc.querySelectorAll("table.messages tr.msg"));
  var sel = -1;
  function select(i) {
    if (!rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    if (sel >= 0) rows[sel].classList.remove("selected");
    sel = i;
    rows[sel].classList.add("selected");
    rows[sel].scrollIntoView({ block: "nearest" });
  }
  function openSelected() {
    if (sel < 0) return false;
    var a = rows[sel].querySelector("td.subject a");
    if (a) { window.location.href = a.href; return true; }
    return false;
  }
  rows.forEach(function (row, i) {
    row.addEventListener("click", function (e) {
      if (e.target.closest("a, button, input")) return;
      select(i);
      openSelected();
    });
  });

  function press(key) {
    var target = doc.querySelector('[data-key="' + key + '"]');
    if (!target) return false;
    target.click();
    return true;
  }

  function typing(t) {
    if (!t) return false;
    var tag = t.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || t.isContentEditable;
  }

  var pendingG = 0;
  doc.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") { if (hideHelp()) e.preventDefault(); return; }
    if (typing(e.target)) return;
    if (helpOpen() && e.key !== "?") return;
    var k = e.key, done = false;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      if (k === "i") { window.location.href = "/"; e.preventDefault(); }
      return;
    }
    pendingG = 0;
    switch (k) {
      case "?": if (helpOpen()) hideHelp(); else showHelp(); done = true; break;
      case "g": pendingG = Date.now(); done = true; break;
      case "j": select(sel + 1); done = rows.length > 0; break;
      case "k": select(sel < 0 ? 0 : sel - 1); done = rows.length > 0; break;
      case "Enter": case "o":
        /* Enter on a focused link or button already does its own thing. */
        if (k === "Enter" && e.target.closest && e.target.closest("a, button, summary")) return;
        done = openSelected();
        break;
      case "c": done = press("c"); break;
      case "r": done = press("r"); break;
      case "f": done = press("f"); break;
      case "u": done = press("u"); break;
      case "b": done = press("b"); break;
      case "#": case "Delete": done = press("#"); break;
    }
    if (done) e.preventDefault();
  });

  /* --- Copy (a generated password, shown once): the button copies the
   * text of the element it names; without a script the text is selectable. */
  Array.prototype.forEach.call(doc.querySelectorAll("[data-copy]"), function (b) {
    b.addEventListener("click", function () {
      var el = doc.getElementById(b.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent).then(function () { b.textContent = "Copied"; });
    });
  });

  /* --- Compose: the S/MIME lines follow the addresses typed (GET
   * /smime/status); without a script they are those of the page's load. */
  var signLine = doc.getElementById("smime-sign-line");
  if (signLine && window.fetch) {
    var fields = ["to", "cc", "bcc"].map(function (n) { return doc.querySelector("input[name=" + n + "]"); });
    var refresh = function () {
      var rcpt = fields.map(function (f) { return f ? f.value : ""; }).filter(function (v) { return v; }).join(", ");
      fetch("/smime/status?rcpt=" + encodeURIComponent(rcpt), { credentials: "same-origin" })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (st) {
          if (!st) return;
          signLine.textContent = st.sign_line;
          doc.getElementById("smime-encrypt-line").textContent = st.encrypt_line;
          var s = doc.getElementById("smime-sign"), e = doc.getElementById("smime-encrypt");
          s.disabled = !st.can_sign; if (s.disabled) s.checked = false;
          e.disabled = !st.can_encrypt; if (e.disabled) e.checked = false;
        });
    };
    fields.forEach(function (f) { if (f) f.addEventListener("change", refresh); });
  }
})();

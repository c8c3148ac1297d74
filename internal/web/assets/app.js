// Progressive enhancement only: every control also works by pressing Show.
// A select marked data-autosubmit submits its form when it changes; picking a
// date clears the window preset, so the dates take effect.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () {
      if (el.name === "range" && el.value !== "custom") {
        el.form.querySelectorAll("input[type=date]").forEach(function (d) { d.disabled = true; });
      }
      el.form.requestSubmit();
    });
  });
  document.querySelectorAll(".controls input[type=date]").forEach(function (el) {
    el.addEventListener("change", function () {
      var range = el.form.querySelector("select[name=range]");
      if (range) { range.value = "custom"; }
    });
  });
});

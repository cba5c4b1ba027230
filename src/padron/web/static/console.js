// padron console: a little plain JavaScript, no framework. Pages work without it except the
// enrollment desk (its live CURP preview and quality feedback ask the server as you type).
"use strict";
(function () {
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.padron = { csrf: csrf };
})();

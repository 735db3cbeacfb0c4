// Day page: load a topic's abstracts (abs-<topic>.json beside the page) when one of its abstracts is opened.
// Text goes in with textContent, never as markup.
(function () {
  "use strict";
  var cache = {};
  function load(src) {
    if (!cache[src]) {
      cache[src] = fetch(src).then(function (r) { return r.ok ? r.json() : {}; }).catch(function () { return {}; });
    }
    return cache[src];
  }
  document.querySelectorAll("details.abs").forEach(function (box) {
    box.addEventListener("toggle", function () {
      if (!box.open || box.dataset.loaded) { return; }
      box.dataset.loaded = "1";
      var paper = box.closest("li.paper");
      load(paper.parentNode.dataset.src).then(function (abstracts) {
        var text = abstracts[paper.dataset.paper];
        box.querySelector("p").textContent = text || "초록을 불러오지 못했습니다. 제목을 누르면 arXiv에서 읽을 수 있습니다.";
      });
    });
  });
})();

// Search across every day, from static files (see digest/site/search.py for the layout; keep the tokenizer
// in step with it). The query comes from the URL (?q=), so a result page can be linked; typing searches
// as you go and keeps the URL in step. Months are read newest first, and reading stops once a page of
// results is found; "더 보기" reads on. Every text from the index is inserted with textContent, never as markup.
(function () {
  "use strict";
  var PAGE = 20;
  var TYPING_MS = 150;
  var input = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var more = document.getElementById("more");
  var title = document.title;
  var files = {};  // url -> promise of its JSON: a file is fetched once per page view
  var run = 0;  // the current search; an older one stops at its next step
  var onMore = null;

  function fold(text) {
    return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "").normalize("NFC");
  }
  function isAscii(ch) { return ch.charCodeAt(0) < 128; }
  function tokens(text, stop) {
    var words = fold(text).match(/[\p{L}\p{N}]+/gu) || [];
    return words.filter(function (w) { return !stop[w] && !(/^[\x00-\x7f]*$/.test(w) && w.length < 2); });
  }
  function bucketOf(key, buckets) {  // FNV-1a over code points, as search.py's bucket_name
    var h = 0x811c9dc5;
    Array.from(key).forEach(function (ch) { h = Math.imul(h ^ ch.codePointAt(0), 0x01000193) >>> 0; });
    return "b" + (h % buckets);
  }
  function getJSON(url) {
    if (!files[url]) {
      files[url] = fetch(url).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
    }
    return files[url];
  }

  function search(meta, query) {
    var mine = ++run;
    list.textContent = "";
    more.hidden = true;
    onMore = null;
    if (!query) {
      document.title = title;
      status.textContent = "검색어를 입력하세요. 제목의 단어, 저자 이름, 한국어 요약의 낱말로 찾을 수 있습니다.";
      return;
    }
    document.title = query + " · " + title;
    var stop = {};
    meta.stopwords.forEach(function (w) { stop[w] = true; });
    var words = tokens(query, stop);
    if (!words.length) { status.textContent = "검색할 낱말이 없습니다 (두 글자 이상의 영어 낱말이나 한국어로 찾아 주세요)."; return; }
    status.textContent = "검색 중…";
    var next = 0, pending = [], shown = 0;

    function keyLength(w) { return isAscii(w[0]) ? meta.latin_key : meta.other_key; }

    // Document numbers in one month that contain every query word (a word matches as a prefix, or whole
    // when it is shorter than its key).
    function searchSegment(seg) {
      var base = "search/" + seg.name + "/";
      return Promise.all(words.map(function (w) {
        var key = Array.from(w).slice(0, keyLength(w)).join("");
        return getJSON(base + bucketOf(key, meta.buckets) + ".json").then(function (shard) {
          var hits = new Set();
          if (!shard) { return hits; }
          var whole = Array.from(w).length < keyLength(w);
          Object.keys(shard).forEach(function (token) {
            if (whole ? token !== w : token.indexOf(w) !== 0) { return; }
            var n = 0;
            shard[token].forEach(function (gap) { n += gap; hits.add(n); });
          });
          return hits;
        });
      })).then(function (sets) {
        var both = Array.from(sets[0]).filter(function (n) { return sets.every(function (s) { return s.has(n); }); });
        both.sort(function (a, b) { return b - a; });  // newest first
        return both.map(function (n) { return { seg: seg.name, n: n }; });
      });
    }

    function docFile(h) { return "search/" + h.seg + "/d" + Math.floor(h.n / meta.docs_per_file) + ".json"; }

    function render(hits) {
      var names = Array.from(new Set(hits.map(docFile)));
      return Promise.all(names.map(getJSON)).then(function (loaded) {
        if (mine !== run) { return; }
        var docs = {};
        names.forEach(function (f, i) { docs[f] = loaded[i] || []; });
        hits.forEach(function (h) {
          var doc = docs[docFile(h)][h.n % meta.docs_per_file];
          if (!doc) { return; }
          var date = doc[0], id = doc[1], topic = meta.topics[doc[4]] || "";
          var li = document.createElement("li");
          li.className = "pick";
          var a = document.createElement("a");
          a.className = "title";
          a.href = date + "/index.html#" + id.replace(/[^A-Za-z0-9.\-]/g, "-");
          a.textContent = doc[2];
          li.appendChild(a);
          var m = document.createElement("span");
          m.className = "meta";
          m.textContent = date + " · " + topic + " · 중요도 " + doc[6] + " · " + doc[3];
          li.appendChild(m);
          if (doc[5]) {
            var k = document.createElement("span");
            k.className = "ko";
            k.textContent = doc[5];
            li.appendChild(k);
          }
          list.appendChild(li);
          shown += 1;
        });
      });
    }

    function step() {
      if (mine !== run) { return null; }
      // Fill `pending` from the next months until a page is there (or the months run out), then show it.
      if (pending.length >= PAGE || next >= meta.segments.length) {
        return render(pending.splice(0, PAGE)).then(function () {
          if (mine !== run) { return; }
          var rest = pending.length > 0 || next < meta.segments.length;
          status.textContent = shown ? "“" + query + "” 검색 결과 " + shown + "건" + (rest ? " (더 있음)" : "")
            : "“" + query + "”에 맞는 논문이 없습니다.";
          more.hidden = !rest;
        });
      }
      var seg = meta.segments[next++];
      return searchSegment(seg).then(function (hits) { pending = pending.concat(hits); return step(); });
    }

    onMore = function () { more.hidden = true; step(); };
    return step();
  }

  var query = (new URLSearchParams(location.search).get("q") || "").trim();
  input.value = query;
  status.textContent = query ? "검색 중…" : "";
  getJSON("search/meta.json").then(function (meta) {
    if (!meta) { status.textContent = "검색 색인이 없습니다."; return; }
    var timer = null;
    more.addEventListener("click", function () { if (onMore) { onMore(); } });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        history.replaceState(null, "", q ? "?q=" + encodeURIComponent(q) : location.pathname);
        search(meta, q);
      }, TYPING_MS);
    });
    search(meta, query);
  });
})();

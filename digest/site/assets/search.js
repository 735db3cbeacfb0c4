// Search across every day, from static files (see digest/site/search.py for the layout; keep the tokenizer
// in step with it). The query comes from the URL (?q=), so a result page can be linked. Months are read
// newest first, and reading stops once a page of results is found; "더 보기" reads on.
// Every text from the index is inserted with textContent, never as markup.
(function () {
  "use strict";
  var PAGE = 20;
  var params = new URLSearchParams(location.search);
  var query = (params.get("q") || "").trim();
  var input = document.getElementById("q");
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var more = document.getElementById("more");
  input.value = query;
  document.getElementById("q-top").value = query;

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
    return fetch(url).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }

  if (!query) { status.textContent = "검색어를 입력하세요. 제목의 단어, 저자 이름, 한국어 요약의 낱말로 찾을 수 있습니다."; return; }
  document.title = query + " · 검색 · " + document.title.replace(/^검색 · /, "");
  status.textContent = "검색 중…";

  getJSON("search/meta.json").then(function (meta) {
    if (!meta) { status.textContent = "검색 색인이 없습니다."; return; }
    var stop = {};
    meta.stopwords.forEach(function (w) { stop[w] = true; });
    var words = tokens(query, stop);
    if (!words.length) { status.textContent = "검색할 낱말이 없습니다 (두 글자 이상의 영어 낱말이나 한국어로 찾아 주세요)."; return; }
    var next = 0, pending = [], shown = 0, found = 0;

    function keyOf(w) { return Array.from(w).slice(0, isAscii(w[0]) ? meta.latin_key : meta.other_key).join(""); }

    // Document numbers in one month that contain every query word (a word matches as a prefix, or whole
    // when it is shorter than its shard key).
    function searchSegment(seg) {
      var base = "search/" + seg.name + "/";
      return Promise.all(words.map(function (w) {
        return getJSON(base + bucketOf(keyOf(w), meta.buckets) + ".json").then(function (shard) {
          var hits = new Set();
          if (!shard) { return hits; }
          var whole = Array.from(w).length < (isAscii(w[0]) ? meta.latin_key : meta.other_key);
          Object.keys(shard).forEach(function (token) {
            if (whole ? token !== w : token.indexOf(w) !== 0) { return; }
            var n = 0;
            shard[token].forEach(function (gap) { n += gap; hits.add(n); });
          });
          return hits;
        });
      })).then(function (sets) {
        var first = sets[0];
        var both = Array.from(first).filter(function (n) { return sets.every(function (s) { return s.has(n); }); });
        both.sort(function (a, b) { return b - a; });  // newest first
        return both.map(function (n) { return { seg: seg.name, n: n }; });
      });
    }

    function render(hits) {
      var files = {};
      hits.forEach(function (h) { files[h.seg + "/d" + Math.floor(h.n / meta.docs_per_file)] = true; });
      var names = Object.keys(files);
      return Promise.all(names.map(function (f) { return getJSON("search/" + f + ".json"); })).then(function (loaded) {
        var docs = {};
        names.forEach(function (f, i) { docs[f] = loaded[i] || []; });
        hits.forEach(function (h) {
          var doc = docs[h.seg + "/d" + Math.floor(h.n / meta.docs_per_file)][h.n % meta.docs_per_file];
          if (!doc) { return; }
          var date = doc[0], id = doc[1], topic = meta.topics[doc[4]] || "";
          var anchor = id.replace(/[^A-Za-z0-9.\-]/g, "-");
          var li = document.createElement("li");
          li.className = "pick";
          var a = document.createElement("a");
          a.className = "title";
          a.href = date + "/index.html#" + anchor;
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
      // Fill `pending` from the next months until a page is there (or the months run out), then show it.
      if (pending.length >= PAGE || next >= meta.segments.length) {
        var page = pending.splice(0, PAGE);
        return render(page).then(function () {
          var rest = pending.length > 0 || next < meta.segments.length;
          status.textContent = "“" + query + "” 검색 결과 " + (rest ? shown + "건 (더 있음)" : shown + "건");
          if (!shown) { status.textContent = "“" + query + "”에 맞는 논문이 없습니다."; }
          more.hidden = !rest;
        });
      }
      var seg = meta.segments[next++];
      return searchSegment(seg).then(function (hits) { found += hits.length; pending = pending.concat(hits); return step(); });
    }

    more.addEventListener("click", function () { more.hidden = true; step(); });
    step();
  });
})();

#include "core/html.hpp"

#include <gtest/gtest.h>

namespace relance::core {
namespace {

TEST(Html, escape_writes_the_five_markup_characters_as_entities) {
  EXPECT_EQ(escape_html(R"(<a href="x">Dupont & Fils</a> l'été)"),
            "&lt;a href=&quot;x&quot;&gt;Dupont &amp; Fils&lt;/a&gt; l&#39;été");
  EXPECT_EQ(escape_html(""), "");
}

TEST(Html, text_keeps_its_line_breaks_as_br_whatever_the_line_ending) {
  EXPECT_EQ(html_from_text("Relance n°2\r\n\r\nMontant < 40 €\nFin\rOK"),
            "Relance n°2<br><br>Montant &lt; 40 €<br>Fin<br>OK");
}

}  // namespace
}  // namespace relance::core
